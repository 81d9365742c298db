"""Did every row come back? Each upload's balance: its sheet rows against its current documents.

Every spreadsheet row counts in exactly one part (``states.balance_part``): extracted, failed,
left out (never sent on purpose), missing (queued, but no current document: must stay 0), or
pending. One statement per page of uploads: the rows are read through the (upload_id,
disposition) index and each queued row's document through (upload_id, row_number) (m005), so
the balance costs one index probe per row and no read of any stored result. The cells fixed on
the Upload page before sending (m005) are recorded and read here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from . import states as S
from .queries import _state_counts
from .records import CellFix
from .store import LedgerCore

if TYPE_CHECKING:
    import sqlite_utils

# Labels of the parts, in the order the sentence says them.
PART_LABELS = {
    S.BALANCE_EXTRACTED: "extracted",
    S.BALANCE_FAILED: "failed",
    S.BALANCE_LEFT_OUT: "left out",
    S.BALANCE_MISSING: "missing",
    S.BALANCE_PENDING: "pending",
}
IDS_PER_STATEMENT = 500  # upload ids bound in one IN (...) list
ATTEMPTS_PER_FETCH = 5_000
_ATTEMPT_COLUMNS = (
    "id", "document_id", "batch_id", "file_url", "state", "document_type", "error", "upload_id",
    "attempt", "row_number", "retry_of",
)  # fmt: skip


@dataclass(frozen=True)
class UploadBalance:
    """What became of every row of one upload, in the five parts of ``states.BALANCE_PARTS``.

    ``rows`` is the sum of the parts. ``unexpected`` counts current documents that are in no
    queued row (never expected: a sign of damage, like ``missing``). ``detail`` splits the parts
    by row disposition (invalid, duplicate, held, cancelled) and document state.
    """

    upload_id: int
    rows: int = 0
    extracted: int = 0
    failed: int = 0
    left_out: int = 0
    missing: int = 0
    pending: int = 0
    unexpected: int = 0
    detail: dict[str, int] = field(default_factory=dict)

    def part(self, name: str) -> int:
        """The count of one part by its name in ``states.BALANCE_PARTS``."""
        return int(getattr(self, name))

    def sentence(self) -> str:
        """'5,000 rows: 4,885 extracted, 91 failed, 24 left out, 0 missing, 0 pending'."""
        return format_balance(self)

    def to_dict(self) -> dict[str, Any]:
        """The balance as JSON-ready data (``status --json``, the report)."""
        return asdict(self)


def format_balance(balance: UploadBalance) -> str:
    """The one sentence pages, CLI and report show for a balance (every part, zeros included)."""
    parts = ", ".join(f"{balance.part(p):,} {PART_LABELS[p]}" for p in S.BALANCE_PARTS)
    text = f"{balance.rows:,} row{'' if balance.rows == 1 else 's'}: {parts}"
    if balance.unexpected:
        text += f"; {balance.unexpected:,} document(s) in no row of the sheet"
    return text


def balance_warning(balance: UploadBalance) -> str | None:
    """A plain warning when rows are missing or documents are in no row; None when it balances."""
    if not balance.missing and not balance.unexpected:
        return None
    said = []
    if balance.missing:
        said.append(
            f"{balance.missing:,} row(s) were queued to be sent but have no document in the ledger"
        )
    if balance.unexpected:
        said.append(f"{balance.unexpected:,} document(s) match no row of the sheet")
    return (
        "; ".join(said) + ". Nothing is lost from the sheet itself: the reconciliation report "
        "lists these rows by number; send them again in a new upload, and tell whoever looks "
        "after the ledger."
    )


def _empty(upload_id: int) -> dict[str, Any]:
    return {"upload_id": upload_id, "rows": 0, **dict.fromkeys(S.BALANCE_PARTS, 0),
            "unexpected": 0, "detail": {}}


def _add(balance: dict[str, Any], disposition: str, state: str | None, n: int) -> None:
    balance[S.balance_part(disposition, state)] += n
    balance["rows"] += n
    detail = balance["detail"]
    key = f"rows_{disposition}" if disposition != S.ROW_QUEUED else state
    if key is not None:
        detail[key] = detail.get(key, 0) + n


def _per_upload(db: sqlite_utils.Database, sql: str, ids: Sequence[int]) -> dict[int, int]:
    return {int(up): int(n) for up, n in db.execute(sql, list(ids))}


def _balances(db: sqlite_utils.Database, upload_ids: Sequence[int]) -> dict[int, UploadBalance]:
    """Balances from three index-only counts; an upload that does not add up is recounted row by row.

    Rows per disposition, queued rows without a current document (missing), and current
    documents per upload are counted in the indexes; the states of the current documents come
    from the batches' counters as on every page. When every current document is in a distinct
    queued row (documents == queued - missing), those states are the queued rows' states.
    """
    marks = ", ".join("?" * len(upload_ids))
    found = {up: _empty(up) for up in upload_ids}
    queued: dict[int, int] = {}
    for up, disposition, n in db.execute(
        f"SELECT upload_id, disposition, count(*) FROM upload_rows WHERE upload_id IN ({marks})"
        " GROUP BY upload_id, disposition",
        list(upload_ids),
    ):
        if disposition == S.ROW_QUEUED:
            queued[up] = n
        else:
            _add(found[up], disposition, None, n)
    missing = _per_upload(
        db, f"""SELECT r.upload_id, count(*) FROM upload_rows r WHERE r.upload_id IN ({marks})
        AND r.disposition = {S.sql_literals(S.ROW_QUEUED)} AND NOT EXISTS (
            SELECT 1 FROM documents d WHERE d.upload_id = r.upload_id
            AND d.row_number = r.row_number AND d.superseded = 0)
        GROUP BY r.upload_id""", upload_ids)
    current = _per_upload(
        db, f"SELECT upload_id, count(*) FROM documents WHERE upload_id IN ({marks})"
        " AND superseded = 0 GROUP BY upload_id", upload_ids)
    states = _state_counts(db, list(upload_ids))
    recount = []
    for up in upload_ids:
        q, m, docs = queued.get(up, 0), missing.get(up, 0), current.get(up, 0)
        counted = states.get(up, {})
        if docs != q - m or counted.get("documents", 0) != docs:
            recount.append(up)  # a stray or doubled document (or counters astray): row by row
            continue
        if m:
            _add(found[up], S.ROW_QUEUED, None, m)
        for state in S.DOCUMENT_STATES:
            if counted.get(state):
                _add(found[up], S.ROW_QUEUED, state, counted[state])
    if recount:
        _recount(db, recount, found, current)
    return {up: UploadBalance(**b) for up, b in found.items()}


def _recount(
    db: sqlite_utils.Database, upload_ids: list[int], found: dict[int, dict[str, Any]],
    current: dict[int, int],
) -> None:
    """The queued rows of uploads that did not add up, each by its own current document."""
    marks = ", ".join("?" * len(upload_ids))
    # The newest current document of a row counts; others (and documents of no row) are extra.
    for up, state, n in db.execute(
        f"""SELECT upload_id, state, count(*) FROM (
            SELECT r.upload_id, (
                SELECT d.state FROM documents d WHERE d.upload_id = r.upload_id
                AND d.row_number = r.row_number AND d.superseded = 0 ORDER BY d.id DESC LIMIT 1
            ) AS state
            FROM upload_rows r WHERE r.upload_id IN ({marks})
            AND r.disposition = {S.sql_literals(S.ROW_QUEUED)}
        ) AS queued_rows GROUP BY upload_id, state""",
        upload_ids,
    ):
        _add(found[up], S.ROW_QUEUED, state, n)
    for up in upload_ids:
        matched = sum(v for k, v in found[up]["detail"].items() if not k.startswith("rows_"))
        found[up]["unexpected"] = max(0, current.get(up, 0) - matched)


class BalanceLedger(LedgerCore):
    """Each upload's balance, and the cells fixed before sending."""

    def upload_balances(self, upload_ids: Iterable[int]) -> dict[int, UploadBalance]:
        """The balance of each upload (by id); an unknown id, or another Atlas's upload, balances
        at zero rows."""
        ids = list(dict.fromkeys(int(i) for i in upload_ids))
        out: dict[int, UploadBalance] = {}
        in_scope, scope_args = self.scope.positional("target")
        with self.reading() as db:
            for start in range(0, len(ids), IDS_PER_STATEMENT):
                part = ids[start : start + IDS_PER_STATEMENT]
                if in_scope != "1":  # another target's work stays out, as on every page
                    marks = ", ".join("?" * len(part))
                    shown = {r[0] for r in db.execute(
                        f"SELECT id FROM uploads WHERE id IN ({marks}) AND {in_scope}",
                        [*part, *scope_args])}
                    out |= {up: UploadBalance(up) for up in part if up not in shown}
                    part = [up for up in part if up in shown]
                if part:
                    out |= _balances(db, part)
        return out

    def upload_balance(self, upload_id: int) -> UploadBalance:
        """One upload's balance."""
        return self.upload_balances([upload_id])[int(upload_id)]

    def missing_rows(self, upload_id: int, limit: int = 1000) -> list[int]:
        """Row numbers of the upload's queued rows with no current document (normally none)."""
        with self.reading() as db:
            return [r[0] for r in db.execute(
                "SELECT r.row_number FROM upload_rows r WHERE r.upload_id = ? AND r.disposition = ?"
                " AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.upload_id = r.upload_id"
                " AND d.row_number = r.row_number AND d.superseded = 0)"
                " ORDER BY r.row_number LIMIT ?",
                [upload_id, S.ROW_QUEUED, limit],
            )]

    def iter_attempts(self, upload_id: int) -> Iterator[dict[str, Any]]:
        """Every attempt of an upload's documents without its results (no file_data), by id:
        what reconciliation matches rows against, at a fraction of the cost of the exports' rows."""
        in_scope, scope_args = self.scope.uploads_positional("upload_id")
        with self.reading() as db:
            cursor = db.conn.cursor()
            cursor.row_factory = None  # tuples, zipped with the names: cheaper than sqlite3.Row
            cursor.execute(
                f"SELECT {', '.join(_ATTEMPT_COLUMNS)} FROM documents WHERE upload_id = ?"
                f" AND {in_scope} ORDER BY id",
                [upload_id, *scope_args],
            )
            while rows := cursor.fetchmany(ATTEMPTS_PER_FETCH):
                for row in rows:
                    yield dict(zip(_ATTEMPT_COLUMNS, row, strict=True))

    def cell_fixes(self, upload_id: int) -> list[dict[str, Any]]:
        """The cells fixed on the Upload page before this upload was sent, by row and column."""
        in_scope, scope_args = self.scope.uploads_positional("upload_id")
        with self.reading() as db:
            return [dict(r) for r in db.execute(
                "SELECT row_number, column_name, old_value, new_value, fixed_by, fixed_at"
                f" FROM cell_fixes WHERE upload_id = ? AND {in_scope} ORDER BY row_number, id",
                [upload_id, *scope_args],
            )]


def record_cell_fixes(
    db: sqlite_utils.Database, upload_id: int, fixes: Iterable[CellFix], who: str | None,
    now: float,
) -> int:
    """Insert the fixed cells of a new upload (inside the caller's transaction); return how many."""
    rows = [(upload_id, f.row_number, f.column, f.old_value, f.new_value, who, now) for f in fixes]
    db.conn.executemany(
        "INSERT INTO cell_fixes (upload_id, row_number, column_name, old_value, new_value,"
        " fixed_by, fixed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    return len(rows)
