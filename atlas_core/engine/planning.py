"""Turning a read spreadsheet and its validation report into what the ledger records."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import TYPE_CHECKING, Any

import numpy as np

from ..ledger import CellFix, Ledger, QueuedUpload, RowRecord, UploadRecord
from ..ledger import states as S
from ..ledger.dispositions import decide_rows

if TYPE_CHECKING:  # intake (pandas) is loaded by whoever read the sheet, not by the engine
    from ..intake import SheetData, ValidationReport


@dataclass(frozen=True)
class UploadPlan:
    """What submitting a sheet would do, before anything is written: shown to the user first."""

    upload: UploadRecord
    rows: SheetRows  # made row by row while the ledger records them
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
    fixes: tuple[CellFix, ...] = ()  # cells the analyst fixed before sending (recorded with it)

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


ROWS_AT_ONCE = 5_000  # rows turned into RowRecords per step: bounds what a step holds


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


class SheetRows:
    """Every row of a sheet as a RowRecord (valid or not, with its problems and original cells),
    made one at a time as the ledger writes them.

    A 200,000-row sheet is already held once as the frame; a tuple of RowRecords with a dict of
    cells each would hold it a second time, in Python objects at several times the size.
    Iterating again starts again from the first row.
    """

    def __init__(self, sheet: SheetData, report: ValidationReport) -> None:
        self.sheet = sheet
        self.report = report

    def __len__(self) -> int:
        return len(self.sheet.frame)

    def _valid(self) -> np.ndarray:
        numbers = np.asarray(self.sheet.row_numbers)
        return np.isin(numbers, self.report.valid_frame()["row_number"].to_numpy())

    def _column_at(self, name: str | None) -> int | None:
        # A repeated name means the last column of that name, as a dict of the cells would.
        where = {str(c): j for j, c in enumerate(self.sheet.frame.columns)}
        return where.get(name) if name is not None else None

    def heads(self) -> tuple[list[int], list[str | None], list[bool]]:
        """Every row's number, document ID (text, None when empty) and validity, in order."""
        frame = self.sheet.frame
        id_at = self._column_at(self.report.id_column)
        ids = _cells(frame.iloc[:, id_at].tolist()) if id_at is not None else [None] * len(frame)
        ids = [i if i is None or type(i) is str else str(i) for i in ids]  # noqa: E721
        return np.asarray(self.sheet.row_numbers).tolist(), ids, self._valid().tolist()

    def __iter__(self) -> Iterator[RowRecord]:
        sheet, report = self.sheet, self.report
        problems: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for problem in report.problems:
            problems[int(problem.row)].append(problem.to_dict())
        numbers = np.asarray(sheet.row_numbers)
        valid = self._valid()
        frame = sheet.frame
        columns = [str(c) for c in frame.columns]
        url_at = self._column_at(report.url_column)
        id_at = self._column_at(report.id_column)
        keys = [encode_basestring(c) + ": " for c in columns]
        # Column by column, a batch at a time: whole-column conversions and the C string encoder
        # instead of a dict and a json.dumps per row (the same text json.dumps would write).
        for start in range(0, len(frame), ROWS_AT_ONCE):
            stop = min(start + ROWS_AT_ONCE, len(frame))
            cells = [_cells(frame.iloc[start:stop, j].tolist()) for j in range(len(columns))]
            encoded = [_encoded(key, column) for key, column in zip(keys, cells, strict=True)]
            originals = (["{" + ", ".join(parts) + "}" for parts in zip(*encoded, strict=True)]
                         if encoded else [None] * (stop - start))
            ids = cells[id_at] if id_at is not None else [None] * (stop - start)
            urls = cells[url_at] if url_at is not None else [None] * (stop - start)
            # The ID and URL of a valid row are its cells exactly as read, as for any other row.
            for number, ok, doc_id, url, original in zip(
                numbers[start:stop].tolist(), valid[start:stop].tolist(), ids, urls, originals,
                strict=True,
            ):
                yield RowRecord(
                    row_number=number,
                    document_id=doc_id if type(doc_id) is str else _text(doc_id),  # noqa: E721
                    file_url=url if type(url) is str else _text(url),  # noqa: E721
                    valid=ok,
                    problems=tuple(problems.get(number, ())),
                    original_json=original,
                )


def _cells(values: list[Any]) -> list[Any]:
    """A column's cells, an empty one (None or NaN) as None."""
    if all(type(v) is str for v in values):  # noqa: E721 - exactly str: the usual sheet, no copy
        return values
    return [_cell(v) for v in values]


def _encoded(key: str, column: list[Any]) -> list[str]:
    """``key: value`` as JSON for every cell of a column."""
    if all(type(v) is str for v in column):  # noqa: E721
        return [key + text for text in map(encode_basestring, column)]
    return [key + _json(v) for v in column]


def _json(value: Any) -> str:
    if type(value) is str:  # noqa: E721
        return encode_basestring(value)
    return json.dumps(value, default=str, ensure_ascii=False)


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
    fixes: tuple[CellFix, ...] = (),
) -> UploadPlan:
    """Work out what submitting this sheet would do (duplicates, pilot, chunks) without writing.

    ``sheet`` is the sheet as sent (with the analyst's fixes); ``fixes`` the cells changed.
    """
    rows = SheetRows(sheet, report)
    numbers, ids, valid = rows.heads()
    known = set(ledger.known_ids([str(i) for i, ok in zip(ids, valid, strict=True) if ok]))
    # The rule needs each row's number, ID and validity only: no cells, no problems.
    heads = (RowRecord(n, i, None, ok) for n, i, ok in zip(numbers, ids, valid, strict=True))
    dispositions = decide_rows(heads, known, pilot=pilot, force=force)
    duplicates = [str(i) for i, d in zip(ids, dispositions, strict=True) if d == S.ROW_DUPLICATE]
    to_send = dispositions.count(S.ROW_QUEUED)
    valid_count = sum(valid)
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
        upload=upload, rows=rows, valid=valid_count, invalid=len(rows) - valid_count,
        duplicate_ids=tuple(duplicates), same_file_uploads=same_file, to_send=to_send,
        held=dispositions.count(S.ROW_HELD), chunks=math.ceil(to_send / chunk_size),
        chunk_size=chunk_size, pilot=pilot, force=force, dispositions=dispositions,
        fixes=tuple(fixes),
    )


def queue_upload(ledger: Ledger, plan: UploadPlan) -> QueuedUpload:
    """Record the planned upload and queue its documents in chunks, in one transaction.

    The ledger records the plan's decision for each row; it refuses (LedgerError, nothing
    recorded) when an ID the plan would send was submitted since the plan was made.
    """
    return ledger.record_upload(
        plan.upload, plan.rows, chunk_size=plan.chunk_size, pilot=plan.pilot, force=plan.force,
        dispositions=plan.dispositions or None, fixes=plan.fixes,
    )
