"""Turning a read spreadsheet and its validation report into what the ledger records."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..ledger import Ledger, QueuedUpload, RowRecord, UploadRecord
from ..ledger import states as S
from ..ledger.dispositions import decide_rows

if TYPE_CHECKING:  # intake (pandas) is loaded by whoever read the sheet, not by the engine
    from ..intake import SheetData, ValidationReport


@dataclass(frozen=True)
class UploadPlan:
    """What submitting a sheet would do, before anything is written: shown to the user first."""

    upload: UploadRecord
    rows: tuple[RowRecord, ...]
    valid: int
    invalid: int
    duplicate_ids: tuple[str, ...]  # valid rows whose id was already submitted (skipped unless forced)
    same_file_uploads: tuple[int, ...]  # earlier uploads of the very same file
    to_send: int  # documents that would be queued now (after duplicates and the pilot limit)
    held: int  # valid rows a pilot run leaves for later
    chunks: int
    chunk_size: int
    pilot: int | None
    force: bool
    dispositions: tuple[str, ...] = ()  # what becomes of each row (ledger.states ROW_*), in order

    def summary(self) -> str:
        """One sentence a page or the CLI can show before the user confirms."""
        parts = [f"{self.to_send} document(s) will be sent in {self.chunks} request(s)"]
        if self.duplicate_ids and not self.force:
            parts.append(f"{len(self.duplicate_ids)} already submitted will be skipped")
        if self.held:
            parts.append(f"{self.held} held back by the pilot")
        if self.invalid:
            parts.append(f"{self.invalid} invalid row(s) left out")
        text = "; ".join(parts) + "."
        if self.same_file_uploads:
            text += f" This same file was already uploaded (upload {self.same_file_uploads[-1]})."
        return text


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def rows_from_report(sheet: SheetData, report: ValidationReport) -> list[RowRecord]:
    """Every row of the sheet as a RowRecord: valid or not, with its problems and original cells."""
    problems: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for problem in report.problems:
        problems[int(problem.row)].append(problem.to_dict())
    valid = {int(v.row_number): v for v in report.valid_items()}
    columns = [str(c) for c in sheet.frame.columns]
    url_col, id_col = report.url_column, report.id_column
    records = []
    for number, values in zip(sheet.row_numbers, sheet.frame.itertuples(index=False, name=None),
                              strict=True):
        number = int(number)
        original = {c: _cell(v) for c, v in zip(columns, values, strict=True)}
        item = valid.get(number)
        records.append(RowRecord(
            row_number=number,
            document_id=item.document_id if item else _text(original.get(id_col)),
            file_url=item.file_url if item else _text(original.get(url_col)),
            valid=item is not None,
            problems=tuple(problems.get(number, ())),
            original=original,
        ))
    return records


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def plan_upload(
    ledger: Ledger,
    sheet: SheetData,
    report: ValidationReport,
    *,
    product_type: str,
    chunk_size: int,
    pilot: int | None = None,
    force: bool = False,
    submitted_by: str | None = None,
) -> UploadPlan:
    """Work out what submitting this sheet would do (duplicates, pilot, chunks) without writing."""
    rows = tuple(rows_from_report(sheet, report))
    valid_rows = [r for r in rows if r.valid]
    known = set(ledger.known_ids([str(r.document_id) for r in valid_rows]))
    dispositions = decide_rows(rows, known, pilot=pilot, force=force)
    duplicates = [str(r.document_id) for r, d in zip(rows, dispositions, strict=True)
                  if d == S.ROW_DUPLICATE]
    to_send = dispositions.count(S.ROW_QUEUED)
    upload = UploadRecord(
        file_name=sheet.filename or "upload",
        product_type=product_type,
        content_hash=sheet.sha256,
        submitted_by=submitted_by,
        url_column=report.url_column,
        id_column=report.id_column,
        columns=tuple(str(c) for c in sheet.frame.columns),
    )
    same_file = tuple(u["id"] for u in ledger.uploads_with_hash(sheet.sha256)) if sheet.sha256 else ()
    return UploadPlan(
        upload=upload, rows=rows, valid=len(valid_rows), invalid=len(rows) - len(valid_rows),
        duplicate_ids=tuple(duplicates), same_file_uploads=same_file, to_send=to_send,
        held=dispositions.count(S.ROW_HELD), chunks=math.ceil(to_send / chunk_size),
        chunk_size=chunk_size, pilot=pilot, force=force, dispositions=dispositions,
    )


def queue_upload(ledger: Ledger, plan: UploadPlan) -> QueuedUpload:
    """Record the planned upload and queue its documents in chunks, in one transaction.

    The ledger records the plan's decision for each row; it refuses (LedgerError, nothing
    recorded) when an ID the plan would send was submitted since the plan was made.
    """
    return ledger.record_upload(
        plan.upload, plan.rows, chunk_size=plan.chunk_size, pilot=plan.pilot, force=plan.force,
        dispositions=plan.dispositions or None,
    )
