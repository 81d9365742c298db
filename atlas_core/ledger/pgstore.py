"""The ledger on PostgreSQL: a connection per thread, the same units of work, migrations under a lock.

Each ledger function is handed a ``PgDatabase``: the same ``execute``/``conn.executemany`` calls
the SQLite side makes on sqlite-utils, each statement translated once by ``dialect.to_postgres``.
Parameters are bound on the client (psycopg's ``ClientCursor``): SQLite's statements compare
parameters with NULL (``? IS NULL OR ...``), and only a value written into the statement lets
PostgreSQL type such a parameter.

Writers take one transaction-level advisory lock first: the same single-writer order SQLite's
``BEGIN IMMEDIATE`` gives, so every check-then-write of the ledger (the duplicate-ID check at
intake, a chunk's next sequence number, retry-failed, resolve-uncertain) stays atomic across
processes and machines. The send path (claiming a chunk, recording its receipts) and storing
results (each store updates only its page's document rows, by id) take that lock shared instead, so lanes of every worker claim side by side: a claim locks its chunk's row
with ``FOR UPDATE SKIP LOCKED`` (dialect.py), never the chunk another lane is claiming, and never
answers "nothing to do" while an unclaimed chunk is due. Readers take a REPEATABLE READ snapshot
and never wait for writers.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from ..errors import LedgerError, display_url, redact, remember_url_credentials
from .dialect import COMPAT_FUNCTIONS, insert_rows, inserted_table, to_postgres, update_rows

log = logging.getLogger(__name__)

# Advisory lock keys (any bigint; these spell "atlas" and what each guards).
WRITE_LOCK_KEY = 0x61746C6173_01  # every write transaction: the ledger's single writer
MIGRATE_LOCK_KEY = 0x61746C6173_02  # applying migrations, once, whoever opens the database first
MIGRATIONS_TABLE = "atlas_migrations"
MANY_ROWS = 1_000  # parameter sets an executemany sends per statement


_NUMBER_START = frozenset(b"-0123456789")


def load_json(data: str | bytes) -> Any:
    """A JSON value from the server; a bare number read as json.loads would, without its overhead.

    Queries hand back many single numbers as JSON (a field's confidence per sampled document):
    json.loads costs several times float()/int() there. The server only sends valid JSON, whose
    number grammar both read identically (a fraction or exponent makes a float, else an int).
    """
    if isinstance(data, bytes) and data[:1] and data[0] in _NUMBER_START:
        try:
            return float(data) if (b"." in data or b"e" in data or b"E" in data) else int(data)
        except ValueError:
            pass  # not a bare number after all (e.g. JSON text with spaces): the full parser
    return json.loads(data)


def _json_loader() -> type:
    from psycopg.types.json import JsonLoader

    class FastJsonLoader(JsonLoader):
        """psycopg's text-format ``json`` loader, with ``load_json`` as its parser."""

        _loads = staticmethod(load_json)

    return FastJsonLoader


class Row(tuple):  # type: ignore[type-arg]
    """A result row read by position or by column name, and as a mapping (``dict(row)``)."""

    __slots__ = ()
    _names: tuple[str, ...] = ()
    _index: dict[str, int] = {}  # noqa: RUF012 - set per result shape by _row_class

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        """The column names, as sqlite3.Row gives them."""
        return list(self._names)


_row_classes: dict[tuple[str, ...], type[Row]] = {}


def _row_class(names: tuple[str, ...]) -> type[Row]:
    cls = _row_classes.get(names)
    if cls is None:
        index: dict[str, int] = {}
        for i, name in enumerate(names):
            index.setdefault(name, i)
        cls = _row_classes[names] = type("Row", (Row,), {"__slots__": (), "_names": names, "_index": index})
    return cls


def _row_factory(cursor: Any) -> Any:
    description = cursor.description
    if description is None:
        return tuple
    cls = _row_class(tuple(c.name for c in description))
    return cls


class PgCursor:
    """The part of sqlite3.Cursor the ledger uses: fetchone/fetchall, iteration, rowcount, lastrowid."""

    def __init__(self, cursor: Any, lastrowid: int | None = None, rowcount: int | None = None) -> None:
        self._cursor = cursor
        self.lastrowid = lastrowid
        self._rowcount = rowcount

    @property
    def rowcount(self) -> int:
        """Rows the statement changed."""
        return int(self._cursor.rowcount if self._rowcount is None else self._rowcount)

    def fetchone(self) -> Any:
        """The next row, or None."""
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        """Every remaining row."""
        return list(self._cursor.fetchall())

    def fetchmany(self, size: int) -> list[Any]:
        """Up to ``size`` more rows."""
        return list(self._cursor.fetchmany(size))

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)


class PgOpenCursor:
    """``db.conn.cursor()``: a cursor to ``execute`` on, then fetch from (rows are tuples that also
    read by name, so a ``row_factory = None`` set on it changes nothing a caller relies on)."""

    row_factory: Any = None

    def __init__(self, db: PgDatabase) -> None:
        self._db = db
        self._last: PgCursor | None = None

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> PgOpenCursor:
        """Run one statement; its rows are fetched from this cursor."""
        self._last = self._db.execute(sql, params)
        return self

    def executemany(self, sql: str, seq: Any) -> PgOpenCursor:
        """Run one statement for each parameter set."""
        self._last = self._db.executemany(sql, seq)
        return self

    def _cursor(self) -> PgCursor:
        if self._last is None:
            raise RuntimeError("fetch before execute")
        return self._last

    @property
    def rowcount(self) -> int:
        """Rows the last statement changed."""
        return self._cursor().rowcount

    @property
    def lastrowid(self) -> int | None:
        """The id the last INSERT made, if any."""
        return self._cursor().lastrowid

    def fetchone(self) -> Any:
        """The next row, or None."""
        return self._cursor().fetchone()

    def fetchmany(self, size: int = 1) -> list[Any]:
        """Up to ``size`` more rows."""
        return self._cursor().fetchmany(size)

    def fetchall(self) -> list[Any]:
        """Every remaining row."""
        return self._cursor().fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor())

    def close(self) -> None:
        """Nothing to release: the unit of work owns the connection."""


class PgDatabase:
    """What a ledger function calls on its ``db`` (sqlite-utils' ``execute`` and ``conn``), on PostgreSQL."""

    dialect = "postgresql"

    def __init__(self, conn: Any, identity_tables: frozenset[str],
                 column_types: dict[tuple[str, str], str] | None = None) -> None:
        self._conn = conn
        self._identity = identity_tables
        self._types = column_types or {}

    @property
    def conn(self) -> PgDatabase:
        """The same object: ``db.conn.execute`` and ``db.execute`` run alike here."""
        return self

    def cursor(self) -> PgOpenCursor:
        """A cursor as sqlite3's ``conn.cursor()`` gives (execute, then fetchone/fetchmany/fetchall)."""
        return PgOpenCursor(self)

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None) -> PgCursor:
        """Run one statement (SQLite's text, translated) and return its cursor."""
        text = to_postgres(sql)
        table = inserted_table(sql)
        wants_id = table is not None and table in self._identity
        if wants_id:
            text += " RETURNING id"  # PostgreSQL reports no lastrowid; the INSERT says it instead
        cursor = self._conn.cursor()
        cursor.execute(text, _params(params))
        return PgCursor(cursor, cursor.fetchone()[0] if wants_id else None)

    def executemany(self, sql: str, seq: Any) -> PgCursor:
        """Run one statement for each parameter set: a plain INSERT or UPDATE as one statement per
        MANY_ROWS sets (a round trip per row would cost more than the work), others one by one."""
        cursor = self._conn.cursor()
        rows = [tuple(_params(p)) for p in seq]
        changed = 0
        for start in range(0, len(rows), MANY_ROWS):
            part = rows[start : start + MANY_ROWS]
            inserting = insert_rows(sql)
            if inserting is not None:  # COPY: no statement text to build and parse per value
                self.copy_rows(inserting[0], inserting[1], part)
                changed += len(part)
                continue
            updating = update_rows(sql, len(part), self._types)
            keys = updating and [row[updating[1]:] for row in part]
            if updating is not None and keys is not None and len(set(keys)) == len(keys):
                # Each row updated once, as one by one would (a repeated key falls back below).
                cursor.execute(updating[0], [value for row in part for value in row])
                changed += cursor.rowcount
                continue
            cursor.executemany(to_postgres(sql), part)
            changed += max(cursor.rowcount, 0)
        return PgCursor(cursor, rowcount=changed)

    def copy_rows(self, table: str, columns: Sequence[str], rows: Any) -> None:
        """Write ``rows`` (tuples in ``columns`` order) into ``table`` with COPY (ledger-copy)."""
        names = ", ".join(f'"{c}"' for c in columns)
        with self._conn.cursor() as cursor, cursor.copy(f'COPY "{table}" ({names}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(tuple(_text(value) for value in row))


NUL_STANDIN = "\ufffd"  # PostgreSQL's text cannot hold NUL; SQLite's can (see docs/reliability.md)


def _text(value: Any) -> Any:
    """A value as PostgreSQL can store it: NUL in text becomes U+FFFD, never a refused write."""
    if type(value) is str and "\x00" in value:
        return value.replace("\x00", NUL_STANDIN)
    return value


def _params(params: Any) -> Any:
    # Always some parameters: psycopg leaves a statement without them un-parsed, and the
    # translation doubles every literal % for the parsing.
    if params is None:
        return ()
    if isinstance(params, dict):
        return {key: _text(value) for key, value in params.items()}
    return tuple(_text(value) for value in params)


class _CloseAtThreadEnd:
    """Closes a thread's connection when the thread ends (its thread-local state is dropped),
    so a dashboard's short-lived script threads never leave connections open on the server."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def __del__(self) -> None:
        try:
            self.conn.close()
        except Exception:  # noqa: BLE001 - at interpreter exit or on a broken socket: gone anyway
            pass


class PgStore:
    """A PostgreSQL database holding a ledger: connections, units of work and migrations."""

    def __init__(self, url: str, *, connect_timeout: float = 10.0) -> None:
        remember_url_credentials(url)  # from here on, redact() scrubs its password
        self.url = url
        self.label = display_url(url)
        self.connect_timeout = connect_timeout
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self.identity_tables: frozenset[str] = frozenset()
        self.column_types: dict[tuple[str, str], str] = {}
        self.schema_version = self._migrate()

    def __repr__(self) -> str:
        return f"PgStore({self.label!r})"

    def _connect(self) -> Any:
        import psycopg

        try:
            conn = psycopg.connect(
                self.url, autocommit=True, cursor_factory=psycopg.ClientCursor,
                row_factory=_row_factory, connect_timeout=max(1, int(self.connect_timeout)),
                application_name="atlas-bulk-ops",
            )
            conn.adapters.register_loader("json", _json_loader())
        except psycopg.Error as exc:
            raise LedgerError(
                f"The ledger database at {self.label} cannot be reached: {_reason(exc)}.",
                hint="Check ATLAS_DATABASE_URL and that PostgreSQL is running.",
            ) from None
        return conn

    def _thread_connection(self) -> tuple[Any, bool]:
        conn = getattr(self._local, "conn", None)
        if conn is not None and conn.closed:
            conn = self._local.conn = None
        if conn is None:
            conn = self._local.conn = self._connect()
            self._local.closer = _CloseAtThreadEnd(conn)
        elif getattr(self._local, "busy", False):
            return self._connect(), True  # a unit of work inside another one: its own connection
        return conn, False

    def _begin(self, statement: str) -> tuple[Any, bool]:
        import psycopg

        conn, one_off = self._thread_connection()
        try:
            conn.execute(statement)
        except psycopg.OperationalError:
            # An idle connection the server dropped (a restart, pg_terminate_backend): nothing was
            # done on it yet, so a fresh one may start the unit instead.
            self._discard(conn, one_off)
            conn, one_off = self._thread_connection()
            conn.execute(statement)
        return conn, one_off

    def _discard(self, conn: Any, one_off: bool) -> None:
        if not one_off and getattr(self._local, "conn", None) is conn:
            self._local.conn = None
        try:
            conn.close()
        except Exception:  # noqa: BLE001 - closing a broken connection may fail; it is gone anyway
            pass

    @contextmanager
    def _unit(self, begin: str, lock: str | None, verb: str) -> Iterator[PgDatabase]:
        import psycopg

        conn = None
        one_off = False
        failed = True
        try:
            conn, one_off = self._begin(begin)
            if not one_off:
                self._local.busy = True
            try:
                if lock == "exclusive":
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
                elif lock == "shared":
                    conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", (WRITE_LOCK_KEY,))
                yield PgDatabase(conn, self.identity_tables, self.column_types)
            except BaseException:
                if not conn.closed:
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            failed = False
        except psycopg.Error as exc:
            raise LedgerError(
                f"The ledger database at {self.label} could not be {verb}: {_reason(exc)}."
            ) from None
        finally:
            if conn is not None:
                if not one_off:
                    self._local.busy = False
                if one_off or (failed and (conn.closed or conn.broken)):
                    self._discard(conn, one_off)

    @contextmanager
    def transaction(self) -> Iterator[PgDatabase]:
        """A write transaction holding the ledger's write lock, committed on success."""
        with self._write_lock, self._unit("BEGIN ISOLATION LEVEL READ COMMITTED", "exclusive", "written") as db:
            yield db

    @contextmanager
    def sending(self) -> Iterator[PgDatabase]:
        """A write transaction of the send path (claim, receipts) or one storing a page of results.

        These hold the write lock shared: they run side by side (a claim touches only the chunk
        it locks with FOR UPDATE SKIP LOCKED and that chunk's documents; a store only its page's
        document rows, by id), while every other writer (intake, cancel, retry, resolve, a
        batch's recount) still runs alone.
        """
        with self._unit("BEGIN ISOLATION LEVEL READ COMMITTED", "shared", "written") as db:
            yield db

    @contextmanager
    def reading(self) -> Iterator[PgDatabase]:
        """A read-only snapshot (REPEATABLE READ): consistent, and never waits for writers."""
        with self._unit("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", None, "read") as db:
            yield db

    def _migrate(self) -> int:
        """Apply the migrations this database lacks, once, under an advisory lock; return the count."""
        from .schema import pending_for, refuse_newer

        with self._write_lock, self._unit("BEGIN", None, "prepared") as db:
            # Whoever opens a fresh database first migrates it; the others wait here, then find
            # every migration recorded. DDL is transactional: a failed migration leaves nothing.
            db.execute("SELECT pg_advisory_xact_lock(?)", [MIGRATE_LOCK_KEY])
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (name TEXT PRIMARY KEY,"
                " applied_at DOUBLE PRECISION NOT NULL)"
            )
            applied = [r[0] for r in db.execute(
                f"SELECT name FROM {MIGRATIONS_TABLE} ORDER BY applied_at, name").fetchall()]
            refuse_newer(applied, "ATLAS_DATABASE_URL")
            missing_compat = db.execute(
                "SELECT to_regprocedure('atlas_json_each(json)') IS NULL"
                " OR to_regprocedure('json_valid(text)') IS NULL").fetchone()[0]
            if missing_compat:
                for statement in COMPAT_FUNCTIONS:
                    db._conn.execute(statement)  # function bodies hold %: not for translation
            for migration in pending_for(applied):
                migration.fn(db)  # type: ignore[arg-type]
                db.execute(f"INSERT INTO {MIGRATIONS_TABLE} (name, applied_at) VALUES (?, ?)",
                           [migration.name, time.time()])
                log.info("applied ledger migration %s on %s", migration.name, self.label)
            self.identity_tables = frozenset(r[0] for r in db.execute(
                "SELECT table_name FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND column_name = 'id' AND is_identity = 'YES'").fetchall())
            self.column_types = {
                (r[0], r[1]): r[2] for r in db.execute(
                    "SELECT table_name, column_name, data_type FROM information_schema.columns"
                    " WHERE table_schema = current_schema()").fetchall()
            }
            return int(db.execute(f"SELECT count(*) FROM {MIGRATIONS_TABLE}").fetchone()[0])

    def close(self) -> None:
        """Close this thread's connection (other threads' close when they end)."""
        conn, self._local.conn = getattr(self._local, "conn", None), None
        if conn is not None:
            conn.close()


def _reason(exc: BaseException) -> str:
    """A database error in one line, with no secret (psycopg may echo connection details)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return redact(text).rstrip(".")
