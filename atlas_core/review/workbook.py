"""The review queue as an Excel file for batch work, and its corrections read back, checked and applied.

``write_queue`` writes one row per waiting document: the key columns (``document``, the
ledger's number, and ``version``, which the import checks), information columns, then one column
per field holding its final value, and ``file_url`` last. The analyst changes field cells
offline. ``check_import`` reads the file back and checks every changed cell: the document exists
(and its ``document_id`` still matches), the field exists for that document, the value changed,
and nobody changed the document since the export (else the cell is refused as stale); formulas
are refused, as a value must be typed. Nothing is written until ``apply_import``, which applies
the checked changes per document in one transaction and refuses, again, any document reviewed
or changed in between. The page and ``python -m atlas_core review import`` share these.
"""

from __future__ import annotations

import io
import os
import pickle
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from ..errors import IntakeError
from ..neutralise import is_formula_like, xlsx_cell
from ..results.corrections import value_text
from .models import ReviewItem
from .queue import ReviewPolicy

SHEET = "review"
KEY_COLUMNS = ("document", "version")
INFO_COLUMNS = ("document_id", "upload", "row_number", "document_type", "why", "lowest_confidence", "weak_fields")
TAIL_COLUMNS = ("file_url",)
FIXED = frozenset((*KEY_COLUMNS, *INFO_COLUMNS, *TAIL_COLUMNS))
FIELD_PREFIX = "field: "  # a field named like a fixed column (a field "version") gets this
MAX_IMPORT_BYTES = 50 * 1024 * 1024
MAX_IMPORT_UNPACKED = 512 * 1024 * 1024  # a queue of 100,000 documents unpacks to ~150 MB
SPOOL_PAGE = 1000
READ_ME = (
    "Change the values in the field columns (after weak_fields) and upload the file back, or run",
    "python -m atlas_core review import FILE. Every changed cell is shown before it is applied.",
    "Do not change the document or version columns: they tell which document a row is, and",
    "whether someone reviewed it since this file was made (such rows are refused, not applied).",
    "Type values; a formula is refused. Clearing a cell corrects the field to empty.",
)


@dataclass(frozen=True)
class CellChange:
    """One changed cell that passed every check: (document, field) from ``old`` to ``new``."""

    row: int  # the sheet's row number (1 is the header)
    document: int
    document_id: str
    field: str
    old: str  # the value the ledger gives now (a correction, or Atlas's)
    new: str


@dataclass(frozen=True)
class CellRefusal:
    """A cell (or a whole row, column None) that is not applied, and why, in plain words."""

    row: int
    column: str | None
    document_id: str | None
    value: str | None
    reason: str


@dataclass
class ImportCheck:
    """What a review file would change, and what it cannot; nothing is written by making one."""

    rows: int = 0
    changes: list[CellChange] = field(default_factory=list)
    refused: list[CellRefusal] = field(default_factory=list)
    stamps: dict[int, str] = field(default_factory=dict)  # document -> version in the file
    applied: list[CellChange] = field(default_factory=list)  # filled by apply_import

    @property
    def documents(self) -> int:
        """How many documents the changes touch."""
        return len({change.document for change in self.changes})

    def summary(self) -> str:
        """One sentence: changes, documents, refused cells."""
        head = f"{len(self.changes):,} changed cell(s) in {self.documents:,} document(s)"
        refused = f"; {len(self.refused):,} cell(s) refused" if self.refused else ""
        return f"{head} of {self.rows:,} row(s){refused}."


def _field_columns(fields: dict[str, None]) -> dict[str, str]:
    """{column header: field name}, a prefix keeping a field apart from the fixed columns."""
    return {(FIELD_PREFIX + name if name in FIXED or name.startswith(FIELD_PREFIX) else name): name
            for name in fields}


def _row_cells(item: ReviewItem) -> tuple[list[Any], dict[str, Any]]:
    info = [item.document, item.stamp, item.document_id, item.upload_id, item.row_number,
            item.document_type, item.why, item.min_confidence, ", ".join(item.weak_fields)]
    return info, {f.name: f.final for f in item.fields}


def write_queue(
    ledger: Any, target: str | os.PathLike[str] | IO[bytes], policy: ReviewPolicy, *,
    upload_id: int | None = None,
) -> int:
    """Write the waiting documents (of one upload, or all) as an XLSX; returns how many rows."""
    if isinstance(target, str | os.PathLike):
        with open(target, "wb") as handle:
            return write_queue(ledger, handle, policy, upload_id=upload_id)
    import rustpy_xlsxwriter  # only this command pays for it

    fields: dict[str, None] = {}
    count = 0
    # The header needs every field first, so rows wait in a spool rather than in memory.
    with tempfile.TemporaryFile() as spool:
        page: list[tuple[list[Any], dict[str, Any], str]] = []
        for item in ledger.review_queue(policy, upload_id=upload_id):
            info, values = _row_cells(item)
            fields.update(dict.fromkeys(values))
            page.append((info, values, item.file_url))
            count += 1
            if len(page) == SPOOL_PAGE:
                pickle.dump(page, spool, protocol=pickle.HIGHEST_PROTOCOL)
                page = []
        if page:
            pickle.dump(page, spool, protocol=pickle.HIGHEST_PROTOCOL)
        columns = _field_columns(fields)
        header = [*KEY_COLUMNS, *INFO_COLUMNS, *columns, *TAIL_COLUMNS]
        spool.seek(0)

        def records() -> Iterator[dict[str, Any]]:
            for _ in range((count + SPOOL_PAGE - 1) // SPOOL_PAGE):
                for info, values, url in pickle.load(spool):
                    cells = [*info, *(values.get(name) for name in columns.values()), url]
                    yield dict(zip(header, (xlsx_cell(c) for c in cells), strict=True))

        rows: Any = records() if count else _empty(header)
        notes: Any = ({"how to": line} for line in READ_ME)
        rustpy_xlsxwriter.write_worksheets(
            [(SHEET, rows), ("how to", notes)], cast(BinaryIO, target),
            freeze_panes={"general": {"row": 1, "col": 0}}, autofilter={SHEET: True},
        )
    return count


def _empty(header: list[str]) -> Any:
    import pandas as pd  # the writer writes a header-only sheet from an empty frame

    return pd.DataFrame(columns=header)


def _read_rows(source: Path | bytes, max_bytes: int, max_unpacked: int) -> Iterator[list[Any]]:
    """The review sheet's rows as cells (openpyxl's, so formulas are seen as formulas)."""
    from ..intake.excel import check_zip

    data = source if isinstance(source, bytes) else _read_bytes(source, max_bytes)
    if len(data) > max_bytes:
        raise IntakeError(f"This file is larger than the {max_bytes // (1024 * 1024)} MB a review file may be.",
                          hint="Export the queue of one upload at a time (--upload N).")
    again = "Upload the review file you exported (an .xlsx), changed and saved in Excel; nothing was changed."
    try:
        kind = check_zip(data, max_unpacked)  # refuses a zip bomb, a damaged file, a zip that is no workbook
    except IntakeError as exc:
        # intake's own advice (save as CSV) does not fit here: a review file comes back as .xlsx
        if "unpack" in exc.message:
            raise IntakeError(exc.message, hint="Export the queue of one upload at a time (--upload N).") from None
        raise IntakeError("This file is damaged or not an Excel workbook, so it cannot be read.", hint=again) from None
    if kind != "xlsx":
        raise IntakeError("This is not an Excel workbook (.xlsx).", hint=again)
    import openpyxl

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many unrelated classes for a damaged package
        raise IntakeError("This workbook cannot be read.", hint=again) from None
    try:
        sheet = workbook[SHEET] if SHEET in workbook.sheetnames else workbook.worksheets[0]
        for row in sheet.iter_rows():
            yield list(row)
    finally:
        workbook.close()


def _read_bytes(path: Path, max_bytes: int) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(max_bytes + 1)


def _cell_value(cell: Any) -> tuple[Any, str | None]:
    """(value, None), or (raw text, why it is refused)."""
    value = getattr(cell, "value", None)
    if getattr(cell, "data_type", None) == "f":  # openpyxl keeps a formula as its text
        return str(value), "is a formula; type the value itself"
    if isinstance(value, str) and value.startswith("'") and is_formula_like(value[1:]):
        value = value[1:]  # the export's neutralising quote, not part of the value
    return value, None


def _header(cells: list[Any]) -> list[str | None]:
    return [None if c.value is None else str(c.value).strip() for c in cells]


def check_import(
    ledger: Any, source: Path | bytes, policy: ReviewPolicy | None = None, *, max_bytes: int = MAX_IMPORT_BYTES,
    max_unpacked: int = MAX_IMPORT_UNPACKED,
) -> ImportCheck:
    """Read a review file and check every changed cell against the ledger; writes nothing."""
    rows = _read_rows(source, max_bytes, max_unpacked)
    header_cells = next(rows, None)
    header = _header(header_cells or [])
    if not set(KEY_COLUMNS) <= set(header):
        raise IntakeError(
            "This file is not a review queue export: it has no 'document' and 'version' columns.",
            hint="Export the queue (python -m atlas_core review export, or the Review page), change it, upload that.",
        )
    at = {name: i for i, name in reversed(list(enumerate(header))) if name}
    check = ImportCheck()
    seen: dict[int, int] = {}
    batch: list[tuple[int, list[Any]]] = []
    for number, cells in enumerate(rows, start=2):
        if all(getattr(c, "value", None) in (None, "") for c in cells):
            continue  # a blank line
        check.rows += 1
        batch.append((number, cells))
        if len(batch) == SPOOL_PAGE:
            _check_rows(ledger, policy, header, at, batch, seen, check)
            batch = []
    _check_rows(ledger, policy, header, at, batch, seen, check)
    return check


def _document_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value > 0 else None
    if isinstance(value, float) and value.is_integer() and value > 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _check_rows(
    ledger: Any, policy: ReviewPolicy | None, header: list[str | None], at: dict[str, int],
    batch: list[tuple[int, list[Any]]], seen: dict[int, int], check: ImportCheck,
) -> None:
    def cell(cells: list[Any], name: str) -> Any:
        i = at.get(name)
        return getattr(cells[i], "value", None) if i is not None and i < len(cells) else None

    wanted = [_document_number(cell(cells, "document")) for _, cells in batch]
    items = ledger.review_items([d for d in wanted if d is not None], policy)
    for (number, cells), document in zip(batch, wanted, strict=True):
        shown_id = cell(cells, "document_id")
        shown_id = None if shown_id is None else str(shown_id)
        if document is None:
            check.refused.append(CellRefusal(number, "document", shown_id, value_text(cell(cells, "document")),
                                             "is not a document number from the export; the row is skipped"))
            continue
        item = items.get(document)
        if item is None:
            check.refused.append(CellRefusal(number, "document", shown_id, str(document),
                                             "is not in the ledger; the row is skipped"))
            continue
        if shown_id is not None and shown_id != item.document_id:
            check.refused.append(CellRefusal(
                number, "document_id", shown_id, shown_id,
                f"does not match document {document} ({item.document_id}); the row is skipped"))
            continue
        if document in seen:
            check.refused.append(CellRefusal(number, "document", item.document_id, str(document),
                                             f"is also on row {seen[document]}; this row is skipped"))
            continue
        seen[document] = number
        stamp = value_text(cell(cells, "version"))
        stale = stamp != item.stamp
        finals = {f.name: f.final for f in item.fields}
        for i, column in enumerate(header):
            if column is None or column in FIXED or i >= len(cells):
                continue
            name = column[len(FIELD_PREFIX):] if column.startswith(FIELD_PREFIX) else column
            value, problem = _cell_value(cells[i])
            if problem is not None:
                check.refused.append(CellRefusal(number, column, item.document_id, value_text(value), problem))
                continue
            new = value_text(value)
            if name not in finals:
                if new:
                    check.refused.append(CellRefusal(number, column, item.document_id, new,
                                                     f"is not a field of document {item.document_id}"))
                continue
            old = value_text(finals[name])
            if new == old:
                continue
            if stale:
                by = f" by {item.decided_by}" if item.decided_by else ""
                check.refused.append(CellRefusal(
                    number, column, item.document_id, new,
                    f"was changed{by} after this file was made (now {old!r}); export again"))
                continue
            check.changes.append(CellChange(number, document, item.document_id, name, old, new))
            check.stamps[document] = item.stamp


def apply_import(ledger: Any, check: ImportCheck, reviewer: str) -> ImportCheck:
    """Apply a check's changes as ``reviewer``, each document whole or not at all; returns the check
    with ``applied`` filled and any document changed since the check moved to ``refused``."""
    per_document: dict[int, dict[str, str]] = {}
    for change in check.changes:
        per_document.setdefault(change.document, {})[change.field] = change.new
    outcome = ledger.correct_documents(
        {doc: (check.stamps[doc], fields) for doc, fields in per_document.items()}, reviewer,
    )
    for change in check.changes:
        error = outcome.get(change.document)
        if error is None:
            check.applied.append(change)
        else:
            check.refused.append(CellRefusal(change.row, change.field, change.document_id, change.new,
                                             error.message))
    return check

