"""The reconciliation report of one upload: its balance (the counts every page shows), each row
that did not end extracted with its sheet row number, part and reason, and the cells the analyst
fixed in the app before sending (old and new value). One CSV, every cell neutralised."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from ..ledger import states as S
from ..ledger.balance import PART_LABELS, UploadBalance
from .export import write_csv_table
from .reconciliation import ReconciliationIssue, ReconciliationReport, Row, reconcile

if TYPE_CHECKING:
    from ..ledger import Ledger

# Which part of the balance each exception is in (an unexpected document is in no row).
PART_OF_KIND = {
    "invalid": S.BALANCE_LEFT_OUT, "skipped": S.BALANCE_LEFT_OUT, "cancelled": S.BALANCE_LEFT_OUT,
    "missing": S.BALANCE_MISSING, "queued": S.BALANCE_PENDING, "pending": S.BALANCE_PENDING,
    "uncertain": S.BALANCE_PENDING, "unknown": S.BALANCE_PENDING, "failed": S.BALANCE_FAILED,
    "rejected": S.BALANCE_FAILED,
}  # fmt: skip
NO_ROW = "in no row"
EXCEPTION_COLUMNS = (
    "row_number", "balance", "kind", "reason", "document_id", "state", "attempt", "batch_id",
    "file_url",
)  # fmt: skip
FIX_COLUMNS = ("row_number", "column", "old_value", "new_value", "fixed_by", "fixed_at_utc")


def exception_part(issue: ReconciliationIssue) -> str:
    """The balance part an exception counts in, in words ('left out'), or 'in no row'."""
    part = PART_OF_KIND.get(issue.kind)
    return PART_LABELS[part] if part else NO_ROW


def fixed_cell_rows(fixes: Iterable[Row]) -> list[list[Any]]:
    """The cells fixed before sending (``Ledger.cell_fixes``) as report rows, times in UTC."""
    out = []
    for fix in fixes:
        when = fix.get("fixed_at")
        stamp = (dt.datetime.fromtimestamp(float(when), dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
                 if isinstance(when, int | float) else when)
        out.append([fix.get("row_number"), fix.get("column_name", fix.get("column")),
                    fix.get("old_value"), fix.get("new_value"), fix.get("fixed_by"), stamp])
    return out


def report_sections(
    title: str, balance: UploadBalance, report: ReconciliationReport, fixes: Iterable[Row]
) -> list[list[Any]]:
    """The report as rows: the title and balance, its counts, the exceptions, the fixed cells.

    The counts are the balance every page and ``status`` show (one ledger query); the exceptions
    list each row that did not end extracted, with its sheet row number, part and reason.
    """
    parts = [*S.BALANCE_PARTS, "unexpected"]
    fixed = fixed_cell_rows(fixes)
    table: list[list[Any]] = [
        [title],
        ["Balance", balance.sentence()],
        ["rows", *parts],
        [balance.rows, *(getattr(balance, p) for p in parts)],
        [],
        [f"Exceptions ({len(report.exceptions):,})"],
        list(EXCEPTION_COLUMNS),
    ]
    for issue in report.exceptions:
        table.append([issue.row_number, exception_part(issue), issue.kind, issue.detail,
                      issue.document_id, issue.state, issue.attempt, issue.batch_id,
                      issue.file_url])
    table += [[], [f"Cells fixed in the app before sending ({len(fixed):,})"], list(FIX_COLUMNS)]
    table += fixed
    return table


def report_csv(
    title: str, balance: UploadBalance, report: ReconciliationReport, fixes: Iterable[Row]
) -> bytes:
    """The reconciliation report as one CSV (UTF-8 with BOM; every cell formula-neutralised,
    the fixed sheet values included)."""
    buffer = io.BytesIO()
    write_csv_table(report_sections(title, balance, report, fixes), buffer)
    return buffer.getvalue()


def report_dict(
    balance: UploadBalance, report: ReconciliationReport, fixes: Iterable[Row]
) -> dict[str, Any]:
    """The same report as JSON-ready data (``reconcile --json``)."""
    return {
        "balance": {k: v for k, v in balance.to_dict().items() if k != "detail"},
        "sentence": balance.sentence(),
        "exceptions": [asdict(i) | {"balance": exception_part(i)} for i in report.exceptions],
        "fixed_cells": [dict(zip(FIX_COLUMNS, row, strict=True)) for row in fixed_cell_rows(fixes)],
    }


@dataclass(frozen=True)
class UploadReconciliation:
    """Everything the reconciliation report of one upload says, read from the ledger once."""

    title: str
    balance: UploadBalance
    report: ReconciliationReport
    fixes: tuple[dict[str, Any], ...]

    def csv(self) -> bytes:
        """The report file (CSV): balance, counts, exceptions, fixed cells."""
        return report_csv(self.title, self.balance, self.report, self.fixes)

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return {"title": self.title, **report_dict(self.balance, self.report, self.fixes)}


def reconcile_upload(ledger: Ledger, upload_id: int, file_name: str | None = None) -> UploadReconciliation:
    """The reconciliation report of one upload: its balance, exceptions and fixed cells."""
    name = f" ({file_name})" if file_name else ""
    return UploadReconciliation(
        title=f"Reconciliation of upload {upload_id}{name}",
        balance=ledger.upload_balance(upload_id),
        report=reconcile(ledger.iter_upload_rows(upload_id), ledger.iter_attempts(upload_id)),
        fixes=tuple(ledger.cell_fixes(upload_id)),
    )

