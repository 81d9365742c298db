"""Exporting document rows from the ledger: CSV (UTF-8 with BOM), XLSX and JSON; wide, long or
the analyst's own sheet with results.

Columns and their order are ``layout.py``'s: the sheet's ID column (under its own header) and
``row`` first, the sheet's own columns carried through, ``status`` (one word per outcome,
``ledger.states.row_outcome``), ``needs_review`` (against ``review_below``),
``lowest_confidence``, ``document_type``, ``error``, the fields, then the file URL, other links
and ``batch_id`` last. Field columns follow one order whatever the order of the rows: the common
meanings first (``meanings.py``: name, date of birth, ID number, address, one column each
whatever the type), then the documented fields of the types present in the contract's order,
each with its confidence, extra keys and address parts next to it, then every other field
alphabetically. Excel adds one sheet per document type, its fields under Atlas's own names.

The sheet layout (``write_sheet``) is the upload's spreadsheet as it was read, every row in
its order, left-out rows included, then the result columns and the fields.

Long layout: one row per document and field, the same columns around ``field``, ``value`` and
``confidence``. JSON (wide): a list of objects with the fixed keys, ``min_confidence`` and the
raw ``file_data``; JSON (long): the long rows. Text cells are formula-neutralised in CSV and
XLSX (see ``neutralise``); JSON keeps the raw values.

The wide header needs every field before the first row is written, so rows are flattened once
into a temporary file, a page at a time, and read back (``wide.py``): 200,000 documents never
sit in memory. XLSX is written by rustpy-xlsxwriter in constant memory (``xlsx.py``).
"""
from __future__ import annotations

import io
import json
import math
import os
import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import islice
from operator import itemgetter
from typing import IO, Any

import pandas as pd

from ..errors import AtlasError
from ..ledger import states
from ..neutralise import (
    csv_cells,
    neutralise_text,
    write_csv_table,
    xlsx_cell,
    xlsx_cells,
)
from .corrections import with_corrections
from .flatten import Cell, field_entries, fixed_cells, to_cell
from .layout import (
    BATCH_COLUMN,
    RESULT_COLUMNS,
    ROW_COLUMN,
    UPLOAD_COLUMN,
    SheetColumns,
    fields_of,
    result_cells,
    unclashed,
)
from .wide import CsvWideTable, Item, WideTable, write_csv_text
from .xlsx import XlsxSheet, write_xlsx

FORMATS: tuple[str, ...] = ("csv", "xlsx", "json")
LAYOUTS: tuple[str, ...] = ("wide", "long")
SHEET_FORMATS: tuple[str, ...] = ("csv", "xlsx")
MIME_TYPES: dict[str, str] = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
# value is the final one (a person's correction where there is one); atlas_value is Atlas's
LONG_FIELD_COLUMNS: tuple[str, ...] = ("field", "atlas_value", "value", "confidence")
Row = Mapping[str, Any]
SheetRow = Mapping[str, Any]
row_outcome = states.row_outcome
SPOOL_PAGE = 1000  # rows pickled at once: one call per page, not per row


def export_documents(
    rows: Iterable[Row], fmt: str = "csv", layout: str = "wide", *, sheet: SheetColumns | None = None
) -> bytes:
    """The documents as one file's bytes: ``fmt`` csv, xlsx or json; ``layout`` wide or long."""
    buffer = io.BytesIO()
    write_documents(rows, buffer, fmt=fmt, layout=layout, sheet=sheet)
    return buffer.getvalue()


def write_documents(
    rows: Iterable[Row],
    target: str | os.PathLike[str] | IO[bytes],
    *,
    fmt: str = "csv",
    layout: str = "wide",
    sheet: SheetColumns | None = None,
) -> int:
    """Stream the documents to a path or a binary file; returns how many data rows were written.

    ``sheet`` names the columns from the sheet the documents came from (default: none, the ID
    as ``document_id``) and holds the review threshold.
    """
    _check(fmt, layout)
    sheet = sheet or SheetColumns()
    if isinstance(target, str | os.PathLike):
        with open(target, "wb") as handle:
            return write_documents(rows, handle, fmt=fmt, layout=layout, sheet=sheet)
    rows = with_corrections(rows)  # the final values: a person's corrections over Atlas's
    if fmt == "json":
        if layout == "wide":
            return _write_json((_json_object(row, sheet) for row in rows), target)
        return _write_json(_long_objects(rows, sheet), target)
    if layout == "long":
        if fmt == "csv":
            return write_csv_table(_long_table(rows, sheet), target)
        return _write_xlsx_table(_long_table(rows, sheet), target, "fields", sheet)
    with _table(fmt) as table:
        front = _WideFront(sheet)
        table.fill(front.entries(rows))
        return _write_table(table, front, target, fmt, "documents")


def export_sheet(rows: Iterable[SheetRow], fmt: str, sheet: SheetColumns) -> bytes:
    """``write_sheet`` as one file's bytes."""
    buffer = io.BytesIO()
    write_sheet(rows, buffer, fmt=fmt, sheet=sheet)
    return buffer.getvalue()


def write_sheet(
    rows: Iterable[SheetRow],
    target: str | os.PathLike[str] | IO[bytes],
    *,
    fmt: str = "csv",
    sheet: SheetColumns,
) -> int:
    """The upload's sheet with its results (csv or xlsx); returns how many rows were written.

    ``rows`` are the sheet's rows in order (``Ledger.iter_sheet``): each with its cells as read
    (``original``), its disposition and problems, and its current document or None.
    """
    if fmt not in SHEET_FORMATS:
        raise AtlasError(
            f"The sheet with results is written as CSV or Excel, not {fmt!r}.",
            hint="End the file name with .csv or .xlsx.",
        )
    if isinstance(target, str | os.PathLike):
        with open(target, "wb") as handle:
            return write_sheet(rows, handle, fmt=fmt, sheet=sheet)
    with _table(fmt) as table:
        front = _SheetFront(sheet)
        table.fill(front.entries(rows))
        return _write_table(table, front, target, fmt, "sheet with results")


def wide_table(rows: Iterable[Row], sheet: SheetColumns | None = None) -> Iterator[list[Cell]]:
    """The wide layout as a header list followed by one list of cells per document."""
    front = _WideFront(sheet or SheetColumns())
    with WideTable(list) as table:
        table.fill(front.entries(with_corrections(rows)))
        items = front.items(table)
        yield front.header(items)
        for page in table.rows(items, front.size):
            yield from (list(line) for line in page)


_FRONT_NAMES = ("document_id", "row_number", "upload_id", "file_url", "batch_id")
_FRONT_KEYS = itemgetter(*_FRONT_NAMES)


class _WideFront:
    """The wide and long layouts' own columns: IDs, the sheet's cells, results, links."""

    def __init__(self, sheet: SheetColumns) -> None:
        self.sheet = sheet
        result_names = [ROW_COLUMN, *([UPLOAD_COLUMN] if sheet.several_uploads else []),
                        *RESULT_COLUMNS, BATCH_COLUMN]
        self.taken = (sheet.id_header, *sheet.carried, sheet.url_header)
        named = dict(zip(result_names, unclashed(result_names, self.taken), strict=True))
        self.names = [sheet.id_header, named[ROW_COLUMN],
                      *([named[UPLOAD_COLUMN]] if sheet.several_uploads else []),
                      *sheet.carried, *(named[c] for c in RESULT_COLUMNS),
                      sheet.url_header, named[BATCH_COLUMN]]  # fmt: skip
        self.size = len(self.names)
        first_result = self.size - 2 - len(RESULT_COLUMNS)
        self.result_at = first_result
        ids = 3 if sheet.several_uploads else 2
        # type sheets: IDs, row, (upload), status, needs_review, lowest_confidence
        self.picks = [*range(ids), first_result, first_result + 1, first_result + 2]
        self.text_columns = (sheet.id_header,)

    def entries(self, rows: Iterable[Row]) -> Iterator[tuple[list[Any], Any, Any]]:
        """(front cells, file_data, document type) per document."""
        sheet = self.sheet
        cells_of = _sheet_cells(sheet.carried) if sheet.carried else None
        several, review_below = sheet.several_uploads, sheet.review_below
        for row in rows:
            file_data = fields_of(row)
            results = result_cells(row, file_data, review_below)
            try:  # a ledger row has every key: one call takes them
                doc_id, number, upload, url, batch = _FRONT_KEYS(row)
            except KeyError:
                doc_id, number, upload, url, batch = (row.get(k) for k in _FRONT_NAMES)
            front = [doc_id, number, upload] if several else [doc_id, number]
            if cells_of is not None:
                front += cells_of(row.get("original"))
            front += results
            front.append(url)
            front.append(batch)
            yield front, file_data, results[3]

    def items(self, table: WideTable) -> list[Item]:
        """The main sheet's header items."""
        size = self.size
        return table.arrange(range(size - 2), [size - 2], [size - 1])

    def header(self, items: Sequence[Item]) -> list[Any]:
        """Column names for ``items`` (front names, then fields, clashes prefixed)."""
        return _header(items, self.names, self.taken)


class _SheetFront:
    """The sheet layout's own columns: the sheet's cells as read, then the results."""

    def __init__(self, sheet: SheetColumns) -> None:
        self.sheet = sheet
        self.taken = sheet.columns
        results = unclashed(RESULT_COLUMNS, sheet.columns)
        row_name = unclashed([ROW_COLUMN], sheet.columns)[0]
        self.names = [*sheet.columns, *results, row_name, sheet.id_header]
        self.size = len(self.names)
        n = len(sheet.columns)
        # type sheets: the ID, the sheet row, status, needs_review, lowest_confidence
        self.picks = [self.size - 1, self.size - 2, n, n + 1, n + 2]
        self.text_columns = (sheet.id_header,)

    def entries(self, rows: Iterable[SheetRow]) -> Iterator[tuple[list[Any], Any, Any]]:
        """(front cells, file_data, document type) per sheet row."""
        cells_of = _sheet_cells(self.sheet.columns)
        review_below = self.sheet.review_below
        for row in rows:
            doc = row.get("document")
            if doc is not None:
                file_data = fields_of(doc)
                results = result_cells(doc, file_data, review_below)
            else:
                file_data = None
                results = [row_outcome(None, row.get("disposition")), None, None, None,
                           left_out_reason(row), None]
            front = cells_of(row.get("original"))
            front += results
            front.append(row.get("row_number"))
            front.append(row.get("document_id"))
            yield front, file_data, results[3]

    def items(self, table: WideTable) -> list[Item]:
        """The main sheet's header items: the sheet and results, then the fields."""
        return table.arrange(range(self.size - 2), [], [])

    def header(self, items: Sequence[Item]) -> list[Any]:
        """Column names for ``items``."""
        return _header(items, self.names, self.taken)


def _header(items: Sequence[Item], names: Sequence[str], taken: Sequence[str]) -> list[str]:
    fields = [x for kind, x in items if kind != "front"]
    renamed = dict(zip(fields, unclashed(fields, [*taken, *names]), strict=True))
    return [names[x] if kind == "front" else renamed[x] for kind, x in items]


def _sheet_cells(columns: Sequence[str]) -> Callable[[Any], list[Any]]:
    """A function giving a sheet row's cells (its ``original`` dict) for ``columns``."""
    if not columns:
        return lambda original: []
    pick = itemgetter(*columns)
    single = len(columns) == 1

    def cells(original: Any) -> list[Any]:
        if original:
            try:  # the sheet's cells are stored under its header: one call takes them all
                found = pick(original)
                return [found] if single else list(found)
            except (KeyError, TypeError):
                if isinstance(original, Mapping):
                    return [original.get(c) for c in columns]
        return [None] * len(columns)

    return cells


def left_out_reason(row: Mapping[str, Any]) -> str | None:
    """Why a sheet row has no document, in words (its problems for an invalid row)."""
    from .reconciliation import problems_text  # it imports this module

    disposition = row.get("disposition")
    if disposition == states.ROW_INVALID or not row.get("valid", True):
        return "Left out: " + (problems_text(row.get("problems")) or "the row is not valid.")
    if disposition == states.ROW_DUPLICATE:
        holder = row.get("holder")
        if holder and holder.get("upload_id") == _upload_of(row):
            return f"Left out: the same ID as row {holder.get('row_number')}, which was sent."
        if holder:
            return (f"Left out: this ID was already sent in upload {holder.get('upload_id')}"
                    f" (row {holder.get('row_number')}).")
        return "Left out: this ID had already been sent."
    if disposition == states.ROW_HELD:
        return "Held back by a pilot run: send the rest of the upload from the Batches page."
    if disposition == states.ROW_CANCELLED:
        return "Cancelled before sending."
    return "Not in the ledger: this row was never queued."


def _upload_of(row: Mapping[str, Any]) -> Any:
    return row.get("upload_id")


def _table(fmt: str) -> WideTable:
    """The wide table a format is made from: CSV text for CSV; cells, and a sheet per type, for
    Excel."""
    if fmt == "csv":
        return CsvWideTable(csv_cells)
    return WideTable(xlsx_cells, type_sheets=True)


def _write_table(table: WideTable, front: Any, target: IO[bytes], fmt: str, title: str) -> int:
    """The filled table as CSV, or as Excel with one sheet per document type after the first."""
    items = front.items(table)
    header = table.convert(front.header(items))
    if isinstance(table, CsvWideTable):
        write_csv_text(header, table.text_pages(items, front.size), target)
        return table.count
    id_text = table.convert(list(front.text_columns))
    sheets = [XlsxSheet(title, header, _rows_of(table.rows(items, front.size)), table.count, id_text)]
    for doc_type in table.type_sheets():
        type_items = table.type_items(doc_type, front.picks)
        names = [front.names[x] for _, x in type_items[: len(front.picks)]]
        names += [x for _, x in type_items[len(front.picks):]]
        sheets.append(XlsxSheet(
            str(doc_type), table.convert(names), table.type_rows(doc_type, type_items, front.size),
            table.own_type_count(doc_type), id_text,
        ))  # fmt: skip
    return write_xlsx(sheets, target)


def _rows_of(pages: Iterable[list[Any]]) -> Iterator[Any]:
    for page in pages:
        yield from page


def _long_table(rows: Iterable[Row], sheet: SheetColumns) -> Iterator[list[Cell]]:
    front = _WideFront(sheet)
    size = front.size
    # the front's names, with field, value and confidence before the file URL and batch id
    names: list[Cell] = [*front.names[: size - 2], *unclashed(LONG_FIELD_COLUMNS, front.taken),
                         *front.names[size - 2:]]  # fmt: skip
    yield names
    atlas: dict[str, Any] = {}

    def noting(rows: Iterable[Row]) -> Iterator[Row]:
        nonlocal atlas  # Atlas's values of the row front.entries is on (it takes one at a time)
        for row in with_corrections(rows):
            atlas = row.get("atlas_values") or {}
            yield row

    for cells, file_data, doc_type in front.entries(noting(rows)):
        head, tail = cells[: size - 2], cells[size - 2:]
        # a document without fields still gets one line, with empty field cells
        entries: list[tuple[str | None, Cell, Cell]] = list(field_entries(file_data, doc_type))
        for name, value, confidence in entries or [(None, None, None)]:
            yield [*head, name, atlas[name] if name in atlas else value, value, confidence, *tail]


def _long_objects(rows: Iterable[Row], sheet: SheetColumns) -> Iterator[dict[str, Cell]]:
    table = _long_table(rows, sheet)
    header = [str(name) for name in next(table)]  # the first line is the column names
    for line in table:
        yield dict(zip(header, line, strict=True))


def _missing(value: object) -> bool:
    # pandas fills the cells of fields a document lacks with NaN, which must not show as "nan"
    return value is None or (isinstance(value, float) and value != value)


def documents_frame(
    rows: Iterable[Row], layout: str = "wide", *, neutralise: bool = False,
    sheet: SheetColumns | None = None,
) -> pd.DataFrame:
    """The documents as a DataFrame for the dashboard table (wide: flattened fields; or long)."""
    _check("csv", layout)
    sheet = sheet or SheetColumns()
    table = wide_table(rows, sheet) if layout == "wide" else _long_table(rows, sheet)
    header = next(table)
    records = list(table)
    frame = (
        pd.DataFrame.from_records(records, columns=header)
        if records
        else pd.DataFrame(columns=header)
    )
    for column in frame.columns:
        values = frame[column]
        present = values.dropna()
        if len(present) and all(isinstance(v, int | float) for v in present):
            frame[column] = pd.to_numeric(values)
        else:
            # one type per column: Arrow (so st.dataframe) refuses columns mixing text and numbers
            text = values.map(lambda v: None if _missing(v) else str(v))
            frame[column] = text.map(neutralise_text, na_action="ignore") if neutralise else text
    return frame


def _check(fmt: str, layout: str) -> None:
    if fmt not in FORMATS:
        raise AtlasError(
            f"Unknown export format {fmt!r}.", hint=f"Choose one of: {', '.join(FORMATS)}."
        )
    if layout not in LAYOUTS:
        raise AtlasError(
            f"Unknown export layout {layout!r}.", hint=f"Choose one of: {', '.join(LAYOUTS)}."
        )


def _write_xlsx_table(
    table: Iterable[list[Cell]], target: IO[bytes], title: str, sheet: SheetColumns
) -> int:
    """An XLSX of a header and rows of raw cells, counted first in a spool (the sheet count)."""
    lines = iter(table)
    header = [xlsx_cell(c) for c in next(lines)]
    with tempfile.TemporaryFile() as spool:
        count = 0
        while page := [[xlsx_cell(v) for v in line] for line in islice(lines, SPOOL_PAGE)]:
            pickle.dump(page, spool, protocol=pickle.HIGHEST_PROTOCOL)
            count += len(page)
        spool.seek(0)
        pages = (pickle.load(spool) for _ in range((count + SPOOL_PAGE - 1) // SPOOL_PAGE))
        ids = [xlsx_cell(sheet.id_header)]
        return write_xlsx([XlsxSheet(title, header, _rows_of(pages), count, ids)], target)


def _json_object(row: Row, sheet: SheetColumns) -> dict[str, Any]:
    file_data = fields_of(row)
    obj: dict[str, Any] = fixed_cells(row, file_data)
    status, review, lowest, _, _, corrected = result_cells(row, file_data, sheet.review_below)
    obj.update(status=status, row=row.get("row_number"), needs_review=review, corrected_fields=corrected)
    obj["min_confidence"] = to_cell(lowest)
    obj["file_data"] = file_data  # with a person's corrections laid over Atlas's values
    if row.get("atlas_values"):
        obj["atlas_values"] = row["atlas_values"]
    return obj


def _write_json(objects: Iterable[Mapping[str, Any]], target: IO[bytes]) -> int:
    count = 0
    target.write(b"[")
    for obj in objects:
        target.write(b",\n" if count else b"\n")
        target.write(_json_bytes(obj))
        count += 1
    target.write(b"\n]\n" if count else b"]\n")
    return count


def _json_bytes(obj: Any) -> bytes:
    try:
        text = json.dumps(obj, ensure_ascii=False, allow_nan=False, default=str)
    except ValueError:  # NaN or Infinity from upstream: valid JSON has no spelling for them
        text = json.dumps(_finite(obj), ensure_ascii=False, default=str)
    except RecursionError:
        text = json.dumps(str(obj)[:10_000], ensure_ascii=False)
    return text.encode("utf-8", errors="replace")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
