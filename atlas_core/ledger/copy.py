"""Moving a SQLite ledger to PostgreSQL (``python -m atlas_core ledger-copy --to postgresql://...``).

Both ledgers are opened first, so both have every migration. The copy then reads one snapshot
of the file and writes every table in one PostgreSQL transaction, parents before children, ids
kept, with COPY: either the whole ledger arrives, counted table by table, or nothing does and
the target stays empty for another try. Identity sequences are moved past the copied ids, so
the next upload, chunk or document gets a fresh one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from ..errors import LedgerError
from .dialect import is_database_url
from .pgstore import MIGRATIONS_TABLE, PgDatabase
from .store import LedgerCore

COPY_PAGE = 5_000  # rows read from the file per step (a page in memory, never a table)

Progress = Callable[[str, int, int], None]  # (table, rows copied so far, rows in the table)


@dataclass(frozen=True)
class CopyReport:
    """What a copy moved: rows per table, in the order they were copied."""

    tables: dict[str, int]

    @property
    def rows(self) -> int:
        """Rows copied in all."""
        return sum(self.tables.values())


def _source_tables(db: Any) -> list[str]:
    return [r[0] for r in db.conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        " AND name != '_sqlite_migrations' ORDER BY name"
    )]


def _target_order(pg: PgDatabase) -> list[str]:
    """The target's tables, each after the tables its foreign keys point to."""
    tables = sorted(r[0] for r in pg.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        " AND table_type = 'BASE TABLE' AND table_name != ?", [MIGRATIONS_TABLE]
    ).fetchall())
    parents: dict[str, set[str]] = {t: set() for t in tables}
    for child, parent in pg.execute(
        "SELECT c.conrelid::regclass::text, c.confrelid::regclass::text FROM pg_constraint c"
        " WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace"
    ).fetchall():
        if child != parent and child in parents:
            parents[child].add(parent)
    ordered: list[str] = []
    while parents:
        ready = sorted(t for t, ps in parents.items() if ps <= set(ordered))
        if not ready:
            raise LedgerError("The ledger's tables refer to each other in a circle: it cannot be copied.")
        ordered += ready
        for t in ready:
            del parents[t]
    return ordered


def _columns(pg: PgDatabase, table: str) -> list[str]:
    return [r[0] for r in pg.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = ? ORDER BY ordinal_position", [table]
    ).fetchall()]


def copy_ledger(source: LedgerCore, target: LedgerCore, *, progress: Progress | None = None) -> CopyReport:
    """Copy every row of the SQLite ledger ``source`` into the empty PostgreSQL ledger ``target``."""
    if source.engine != "sqlite" or target.engine != "postgresql":
        raise LedgerError("ledger-copy copies a SQLite ledger file into a PostgreSQL database.")
    copied: dict[str, int] = {}
    with source.reading() as db, target.transaction() as written:
        pg = cast(PgDatabase, written)  # a PostgreSQL ledger's unit of work (checked above)
        tables = _target_order(pg)
        missing = sorted(set(_source_tables(db)) - set(tables))
        if missing:
            raise LedgerError(f"The database has no table {missing[0]!r} of the ledger file: nothing was copied.",
                              hint="Both must be opened by the same version of Atlas Bulk Ops.")
        for table in tables:
            if pg.execute(f'SELECT 1 FROM "{table}" LIMIT 1').fetchone() is not None:
                raise LedgerError(
                    f"The database at {target.label} already holds a ledger (its {table} table has"
                    " rows): nothing was copied.",
                    hint="Copy into a new, empty database; a copy never merges two ledgers.",
                )
        for table in tables:
            copied[table] = _copy_table(db, pg, table, progress)
        for table, count in copied.items():  # the count check, before anything is committed
            there = pg.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            if there != count or count != db.conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]:
                raise LedgerError(f"The copy of table {table} counted {there} rows, not {count}: nothing"
                                  " was copied.")
        for table in sorted(target_identity(pg)):
            pg.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), coalesce(max(id), 0) + 1, false)"
                f' FROM "{table}"'
            )
    return CopyReport(copied)


def target_identity(pg: PgDatabase) -> set[str]:
    """Tables whose id PostgreSQL numbers (identity columns)."""
    return {r[0] for r in pg.execute(
        "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND column_name = 'id' AND is_identity = 'YES'"
    ).fetchall()}


def _copy_table(db: Any, pg: PgDatabase, table: str, progress: Progress | None) -> int:
    source_columns = {r[1] for r in db.conn.execute(f'PRAGMA table_info("{table}")')}
    columns = [c for c in _columns(pg, table) if c in source_columns]
    total = db.conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
    names = ", ".join(f'"{c}"' for c in columns)
    done, last = 0, None
    if progress:
        progress(table, 0, total)
    while True:
        # By rowid, a page at a time: ids keep their order (a retry's retry_of points back).
        rows = db.conn.execute(
            f'SELECT rowid, {names} FROM "{table}" WHERE ? IS NULL OR rowid > ? ORDER BY rowid LIMIT ?',
            [last, last, COPY_PAGE],
        ).fetchall()
        if not rows:
            break
        try:
            pg.copy_rows(table, columns, (tuple(r)[1:] for r in rows))
        except ValueError as exc:
            raise LedgerError(f"A row of table {table} cannot be stored in PostgreSQL ({exc}): nothing"
                              " was copied.") from None
        done += len(rows)
        last = rows[-1][0]
        if progress:
            progress(table, done, total)
    return done


def open_pair(source: str | Path, target_url: str) -> tuple[LedgerCore, LedgerCore]:
    """The SQLite ledger at ``source`` and the PostgreSQL ledger at ``target_url``, both migrated."""
    from . import Ledger

    if not is_database_url(target_url):
        raise LedgerError("--to must be a PostgreSQL URL (postgresql://user:password@host:5432/db).")
    if is_database_url(str(source)) or not Path(source).is_file():
        raise LedgerError(f"There is no ledger file at {source}: nothing to copy.",
                          hint="Point --from (or ATLAS_DB_PATH) at the SQLite ledger to move.")
    return Ledger(source), Ledger(target_url)
