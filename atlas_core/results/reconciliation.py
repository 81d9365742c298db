"""Reconciling an upload: its spreadsheet rows against the documents the ledger holds for it.

Every spreadsheet row ends up either extracted or in exactly one exception, so
``rows == extracted + len(exceptions about rows)``; documents the ledger holds that match no row
are listed as ``unexpected`` on top. Rows and documents are matched by ``document_id``. A retried
document (``attempt`` 2 with ``retry_of`` pointing at the first one) counts by its latest attempt;
attempts are linked through ``retry_of`` and through sharing a ``document_id``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

from .export import write_csv_table

Row = Mapping[str, Any]
SKIPPED_DISPOSITIONS = {
    "duplicate": "Skipped: this document_id had already been submitted by an earlier upload.",
    "held": "Held back by a pilot run; it can be queued later.",
    "cancelled": "Held back by a pilot run, then cancelled: never sent.",
}
STATE_EXCEPTIONS = {  # state -> (count and exception kind, what it means)
    "extracted": ("extracted", ""),
    "queued": ("queued", "Queued, not sent to Atlas yet."),
    "submitted": ("pending", "Sent to Atlas; no result yet."),
    "failed": ("failed", "Atlas could not extract this document."),
    "uncertain": (
        "uncertain",
        "Sent, but whether Atlas took it is unknown: resolve it on the Batches page.",
    ),
    "rejected": ("rejected", "Atlas refused the upload request that carried it."),
    "cancelled": ("cancelled", "Cancelled before a result came back."),
}
# in_ledger: valid rows with a document; sent_to_atlas: those whose document (any attempt) got a
# batch id; then one count per result of the latest attempt (a "submitted" document is "pending").
COUNT_NAMES = (
    "rows", "valid", "invalid", "skipped", "missing", "in_ledger", "sent_to_atlas", "extracted",
    "failed", "pending", "queued", "uncertain", "rejected", "cancelled", "other_state", "retried",
    "unexpected",
)  # fmt: skip
ATLAS_ERROR_COLUMN = "atlas_error"
EXCEPTION_KINDS = (
    "invalid", "skipped", "missing", "queued", "pending", "failed", "uncertain", "rejected",
    "cancelled", "unknown", "unexpected",
)  # fmt: skip


@dataclass(frozen=True)
class ReconciliationIssue:
    """One row or document that did not end extracted, and why."""

    kind: str  # see EXCEPTION_KINDS
    row_number: int | None
    document_id: str | None
    file_url: str | None
    state: str | None
    attempt: int | None
    batch_id: str | None
    detail: str


@dataclass(frozen=True)
class ReconciliationReport:
    """Counts for one upload and the list of exceptions behind them."""

    counts: dict[str, int]
    exceptions: tuple[ReconciliationIssue, ...]

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (for ``--json``)."""
        return {
            "counts": dict(self.counts),
            "exceptions": [asdict(issue) for issue in self.exceptions],
        }

    def exceptions_csv(self) -> bytes:
        """The exceptions as CSV (UTF-8 with BOM, formula-neutralised)."""
        header = [f.name for f in fields(ReconciliationIssue)]
        table = [header, *([getattr(issue, name) for name in header] for issue in self.exceptions)]
        return _csv_bytes(table)


def reconcile(upload_rows: Iterable[Row], documents: Iterable[Row]) -> ReconciliationReport:
    """Compare an upload's spreadsheet rows with its documents in the ledger."""
    rows = sorted(upload_rows, key=_row_order)
    latest = latest_attempts(documents)
    by_id = _by_document_id(latest)
    by_row = _by_row_number(latest)
    counts = dict.fromkeys(COUNT_NAMES, 0)
    issues: list[ReconciliationIssue] = []
    matched: set[int] = set()  # id() of the latest attempts that a row claimed
    for row in rows:
        counts["rows"] += 1
        if not row.get("valid"):
            counts["invalid"] += 1
            issues.append(
                _issue("invalid", row, None, problems_text(row.get("problems")) or "Invalid row.")
            )
            continue
        counts["valid"] += 1
        disposition = str(row.get("disposition") or "queued")
        # A row left out on purpose (duplicate, held, cancelled) is left out whatever the ledger
        # holds: an earlier row's document with the same id is that row's, not this one's.
        doc = None if disposition in SKIPPED_DISPOSITIONS else _row_document(row, by_row, by_id)
        if doc is None:
            kind = "skipped" if disposition in SKIPPED_DISPOSITIONS else "missing"
            counts[kind] += 1
            detail = SKIPPED_DISPOSITIONS.get(
                disposition, "Valid and queued to be sent, but it has no document in the ledger."
            )
            issues.append(_issue(kind, row, None, detail))
            continue
        matched.add(id(doc))
        counts["in_ledger"] += 1
        counts["sent_to_atlas"] += bool(doc.get("_submitted"))
        counts["retried"] += (_int(doc.get("attempt")) or 1) > 1
        state = str(doc.get("state"))
        kind, meaning = STATE_EXCEPTIONS.get(state, ("unknown", f"In an unknown state {state!r}."))
        counts[kind if kind != "unknown" else "other_state"] += 1
        if state != "extracted":
            error = doc.get("error")
            issues.append(
                _issue(kind, row, doc, f"{meaning} {error}".strip() if error else meaning)
            )
    for doc in latest:
        if id(doc) not in matched:
            counts["unexpected"] += 1
            issues.append(
                _issue(
                    "unexpected",
                    {},
                    doc,
                    "In the ledger for this upload, but in no valid row of it.",
                )
            )
    return ReconciliationReport(counts, tuple(issues))


def latest_attempts(documents: Iterable[Row]) -> list[dict[str, Any]]:
    """The latest attempt of each document (linked by retry_of or document_id), in first-seen order.

    Each carries ``_submitted`` (whether any attempt reached Atlas, i.e. has a batch_id) and
    ``_document_ids`` (every document_id its attempts used).
    """
    # file_data is not needed here: leaving it out keeps 200,000 documents to ~100 MB, not 1 GB
    docs = [dict(doc) if "file_data" not in doc else
            {k: v for k, v in doc.items() if k != "file_data"} for doc in documents]
    parent = list(range(len(docs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_row_id: dict[Any, int] = {}
    by_document_id: dict[tuple[str, Any], int] = {}
    for i, doc in enumerate(docs):
        if doc.get("id") is not None:
            by_row_id.setdefault(doc["id"], i)
        # Attempts of one sheet row share its row number; without one, its document_id. Two rows
        # of a forced upload may hold the same id: their documents stay apart by row.
        number = _int(doc.get("row_number"))
        key = ("row", number) if number is not None else ("id", _key(doc.get("document_id")))
        if key[1] is not None:
            parent[find(i)] = find(by_document_id.setdefault(key, i))
    for i, doc in enumerate(docs):
        original = by_row_id.get(doc.get("retry_of"))
        if original is not None:
            parent[find(i)] = find(original)
    groups: dict[int, list[int]] = {}
    for i in range(len(docs)):
        groups.setdefault(find(i), []).append(i)
    result = []
    for members in sorted(groups.values(), key=min):
        best = max(
            members,
            key=lambda i: (_int(docs[i].get("attempt")) or 1, _int(docs[i].get("id")) or -1, i),
        )
        latest = docs[best]
        latest["_submitted"] = any(docs[i].get("batch_id") for i in members)
        ids = (_key(docs[i].get("document_id")) for i in members)
        latest["_document_ids"] = tuple(dict.fromkeys(k for k in ids if k is not None))
        result.append(latest)
    return result


def failed_documents_file(
    upload_rows: Iterable[Row],
    documents: Iterable[Row],
    *,
    columns: Sequence[str] | None = None,
    states: Sequence[str] = ("failed", "rejected"),
    keep: Callable[[Row], bool] | None = None,
) -> bytes:
    """Failed (and Atlas-rejected) documents in the upload's own columns plus ``atlas_error``.

    ``keep`` chooses among them (e.g. results.failures.needs_fixing: the file to fix and re-upload).
    """
    rows = sorted(upload_rows, key=_row_order)
    by_id = _by_document_id(latest_attempts(documents))
    chosen = []
    for row in rows:
        key = _key(row.get("document_id"))
        doc = by_id.get(key) if key is not None else None
        if (row.get("valid") and doc is not None and doc.get("state") in states
                and (keep is None or keep(doc))):
            chosen.append((_original(row), doc))
    header = list(columns or _columns(rows))
    error_column = ATLAS_ERROR_COLUMN
    while error_column in header:
        error_column = "_" + error_column
    table: list[list[Any]] = [[*header, error_column]]  # cells as the sheet held them
    for original, doc in chosen:
        table.append(
            [*(original.get(column) for column in header), doc.get("error") or doc.get("state")]
        )
    return _csv_bytes(table)


def _by_row_number(latest: Iterable[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    found: dict[int, dict[str, Any]] = {}
    for doc in latest:
        number = _int(doc.get("row_number"))
        if number is not None:
            found.setdefault(number, doc)
    return found


def _row_document(
    row: Row, by_row: Mapping[int, dict[str, Any]], by_id: Mapping[str, dict[str, Any]]
) -> dict[str, Any] | None:
    """A row's latest document: by its row number, else (documents with no row) by its id."""
    number = _int(row.get("row_number"))
    if number is not None and number in by_row:
        return by_row[number]
    key = _key(row.get("document_id"))
    doc = by_id.get(key) if key is not None else None
    return doc if doc is not None and _int(doc.get("row_number")) is None else None


def _by_document_id(latest: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for doc in latest:
        for key in doc["_document_ids"]:
            found.setdefault(key, doc)
    return found


def problems_text(problems: Any) -> str:
    """Problems as one readable line, whether a list of dicts, JSON text or plain text."""
    if isinstance(problems, str):
        try:
            problems = json.loads(problems)
        except ValueError:
            return problems
    if isinstance(problems, Mapping):
        problems = [problems]
    if not isinstance(problems, list):
        return "" if problems is None else str(problems)
    parts = []
    for problem in problems:
        if isinstance(problem, Mapping):
            parts.append(
                str(
                    problem.get("message")
                    or problem.get("code")
                    or json.dumps(problem, default=str)
                )
            )
        elif problem is not None:
            parts.append(str(problem))
    return "; ".join(parts)


def _original(row: Row) -> dict[str, Any]:
    original = row.get("original")
    if isinstance(original, str):
        try:
            original = json.loads(original)
        except ValueError:
            original = None
    if isinstance(original, Mapping) and original:
        return dict(original)
    return {"document_id": row.get("document_id"), "file_url": row.get("file_url")}


def _columns(rows: Sequence[Row]) -> list[str]:
    for row in rows:
        if row.get("columns"):
            return [str(c) for c in row["columns"]]
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(_original(row)))
    return list(seen) or ["document_id", "file_url"]


def _issue(kind: str, row: Row, doc: Row | None, detail: str) -> ReconciliationIssue:
    doc = doc or {}
    return ReconciliationIssue(
        kind=kind,
        row_number=_int(row.get("row_number", doc.get("row_number"))),
        document_id=_text(row.get("document_id", doc.get("document_id"))),
        file_url=_text(row.get("file_url", doc.get("file_url"))),
        state=_text(doc.get("state")),
        attempt=_int(doc.get("attempt")),
        batch_id=_text(doc.get("batch_id")),
        detail=detail,
    )


def _key(value: Any) -> str | None:
    return None if value is None else str(value).strip()


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def _row_order(row: Row) -> tuple[int, int]:
    number = _int(row.get("row_number"))
    return (0, number) if number is not None else (1, 0)


def _csv_bytes(table: Iterable[list[Any]]) -> bytes:
    buffer = io.BytesIO()
    write_csv_table(table, buffer)
    return buffer.getvalue()
