"""Exporting document rows from the ledger: CSV (UTF-8 with BOM), XLSX and JSON, wide or long.

Wide layout: ``document_id, batch_id, file_url, status, document_type, error`` (``status`` is the
document's state in the ledger), then the field columns of ``flatten_file_data``. Field columns
follow one order whatever the order of the rows: the documented fields of the document types
present, in the contract's order (a PAN-only export starts with PAN's fields; with AADHAAR and PAN,
AADHAAR's come first, then PAN's others), each with its confidence, extra keys and address parts
next to it, then every other field alphabetically. Long layout: ``LONG_COLUMNS``, one row per
document and field. JSON (wide): a list of objects with the six fixed keys, ``min_confidence`` and
the raw ``file_data``; JSON (long): the long rows. Text cells are formula-neutralised in CSV and
XLSX (see ``neutralise``); JSON keeps the raw values.

The wide header needs every field before the first row is written, so rows are flattened once
into a temporary file, a page at a time, and read back: 200,000 documents never sit in memory.
Cells are neutralised for their format as they are made, before the wide layout spreads a
document's dozen cells over every column of the export; a document of a shape already seen
(same keys, same objects) is read by that shape's paths instead of being walked again.

XLSX is written by rustpy-xlsxwriter (Rust's rust_xlsxwriter underneath), in constant memory,
with the header row frozen and filters on it: about twenty times faster than openpyxl's write-only
mode, and it writes every Python ``str`` as a text cell, never as a formula.
"""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from itertools import islice
from operator import itemgetter
from typing import IO, Any, BinaryIO, cast

import pandas as pd

from ..errors import AtlasError
from ..neutralise import (
    XLSX_MAX_COLUMNS,
    XLSX_MAX_ROWS,
    csv_cells,
    neutralise_text,
    write_csv_pages,
    write_csv_table,
    xlsx_cell,
    xlsx_cells,
)
from .corrections import with_corrections
from .flatten import (
    FIXED_COLUMNS,
    LONG_COLUMNS,
    Cell,
    ShapeCache,
    column_order,
    fixed_cells,
    fixed_line,
    iter_long_rows,
    parse_file_data,
    to_cell,
)

FORMATS: tuple[str, ...] = ("csv", "xlsx", "json")
LAYOUTS: tuple[str, ...] = ("wide", "long")
MIME_TYPES: dict[str, str] = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
Row = Mapping[str, Any]
SPOOL_PAGE = 1000  # rows pickled at once: one call per page, not per row


def export_documents(rows: Iterable[Row], fmt: str = "csv", layout: str = "wide") -> bytes:
    """The documents as one file's bytes: ``fmt`` csv, xlsx or json; ``layout`` wide or long."""
    buffer = io.BytesIO()
    write_documents(rows, buffer, fmt=fmt, layout=layout)
    return buffer.getvalue()


def write_documents(
    rows: Iterable[Row],
    target: str | os.PathLike[str] | IO[bytes],
    *,
    fmt: str = "csv",
    layout: str = "wide",
) -> int:
    """Stream the documents to a path or a binary file; returns how many data rows were written."""
    _check(fmt, layout)
    if isinstance(target, str | os.PathLike):
        with open(target, "wb") as handle:
            return write_documents(rows, handle, fmt=fmt, layout=layout)
    rows = with_corrections(rows)  # the final values: a person's corrections over Atlas's
    if fmt == "json":
        objects = (_json_object(row) for row in rows) if layout == "wide" else iter_long_rows(rows)
        return _write_json(objects, target)
    if layout == "wide":
        convert = csv_cells if fmt == "csv" else xlsx_cells
        pages = _wide_pages(rows, convert, convert([None])[0])
        header = convert(next(pages)[0])
        count = next(pages)[0]
        if fmt == "csv":
            return write_csv_pages(header, pages, target)
        return _write_xlsx(header, _rows_of(pages), count, target, "documents")
    if fmt == "csv":
        return write_csv_table(_long_table(rows), target)
    return _write_xlsx_table(_long_table(rows), target, "fields")


def wide_table(rows: Iterable[Row]) -> Iterator[list[Cell]]:
    """The wide layout as a header list followed by one list of cells per document."""
    pages = _wide_pages(with_corrections(rows), list, None)
    yield list(next(pages)[0])
    next(pages)  # the count
    for page in pages:
        yield from (list(line) for line in page)


def _wide_pages(
    rows: Iterable[Row], convert: Callable[[list[Any]], list[Any]], missing: Any
) -> Iterator[Any]:
    """Yields [header], then [row count], then pages of rows (tuples of ``convert``ed cells).

    ``convert`` makes a list of cells ready for the file; ``missing`` fills the columns a
    document lacks (the converted None, made once).
    """
    shapes = ShapeCache()
    document_types: set[object] = set()
    count = 0
    with tempfile.TemporaryFile() as spool:
        page: list[tuple[int | None, list[Any], Any]] = []
        for row in rows:
            file_data = row.get("file_data")
            if type(file_data) is not dict:  # the ledger gives it parsed; other callers may not
                file_data = parse_file_data(file_data)
            fixed = fixed_line(row, file_data)
            document_types.add(fixed[4])  # the document type
            shape_id, cells = shapes.flatten(file_data)
            if shape_id is None:  # an odd shape: its cells by column name
                assert isinstance(cells, dict)
                flat = dict(zip(cells, convert(list(cells.values())), strict=True))
                page.append((None, convert(fixed), flat))
            else:
                # fixed cells, this shape's cells, then the filler the getter picks for a gap
                line = convert([*fixed, *cells])
                line.append(missing)
                page.append((shape_id, line, None))
            count += 1
            if len(page) == SPOOL_PAGE:
                pickle.dump(page, spool, protocol=pickle.HIGHEST_PROTOCOL)
                page = []
        if page:
            pickle.dump(page, spool, protocol=pickle.HIGHEST_PROTOCOL)
        field_columns = column_order(shapes.keys, document_types)
        yield [[*FIXED_COLUMNS, *field_columns]]
        yield [count]
        getters = [_placing(columns, field_columns) for columns in shapes.columns]
        spool.seek(0)
        for _ in range((count + SPOOL_PAGE - 1) // SPOOL_PAGE):
            yield [
                getters[shape_id](cells)
                if shape_id is not None
                else (*cells, *(flat.get(column, missing) for column in field_columns))
                for shape_id, cells, flat in pickle.load(spool)
            ]


def _placing(columns: tuple[str, ...], field_columns: list[str]) -> Callable[[list[Any]], Any]:
    """Picks one shape's cells into the export's columns (the last cell fills the gaps)."""
    fixed = len(FIXED_COLUMNS)
    position = {column: fixed + i for i, column in enumerate(columns)}
    gap = fixed + len(columns)
    return itemgetter(*range(fixed), *(position.get(column, gap) for column in field_columns))


def _rows_of(pages: Iterable[list[Any]]) -> Iterator[Any]:
    for page in pages:
        yield from page


def _long_table(rows: Iterable[Row]) -> Iterator[list[Cell]]:
    yield list(LONG_COLUMNS)
    for long_row in iter_long_rows(rows):
        yield [long_row[column] for column in LONG_COLUMNS]


def _missing(value: object) -> bool:
    # pandas fills the cells of fields a document lacks with NaN, which must not show as "nan"
    return value is None or (isinstance(value, float) and value != value)


def documents_frame(
    rows: Iterable[Row], layout: str = "wide", *, neutralise: bool = False
) -> pd.DataFrame:
    """The documents as a DataFrame for the dashboard table (wide: flattened fields; or long)."""
    _check("csv", layout)
    table = wide_table(rows) if layout == "wide" else _long_table(with_corrections(rows))
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


def _write_xlsx_table(table: Iterable[list[Cell]], target: IO[bytes], title: str) -> int:
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
        return _write_xlsx(header, _rows_of(pages), count, target, title)


def _write_xlsx(
    header: list[Any], lines: Iterator[Any], count: int, target: IO[bytes], title: str
) -> int:
    """Write ``count`` rows of cells ``xlsx_cell`` made, under ``header``, as one or more sheets."""
    import rustpy_xlsxwriter  # imported here: only XLSX exports pay for it

    if len(header) > XLSX_MAX_COLUMNS:
        raise AtlasError(
            f"This export needs {len(header):,} columns, more than Excel's {XLSX_MAX_COLUMNS:,}.",
            hint="Export the long layout or CSV instead.",
        )
    header = _unique(header)
    per_sheet = XLSX_MAX_ROWS - 1  # Excel stops at 1,048,576 rows: carry on in a new sheet
    sheets = max(1, (count + per_sheet - 1) // per_sheet)
    names = [title if n == 1 else f"{title} ({n})" for n in range(1, sheets + 1)]

    def records(n: int) -> Any:
        if not count:  # no rows: a frame with the columns only, so the header is still written
            import pandas as pd

            return pd.DataFrame(columns=header)
        # the writer takes one dict per row; it reads the sheets one after the other, each
        # taking its share of the same stream
        return (dict(zip(header, line, strict=True)) for line in islice(lines, per_sheet))

    rustpy_xlsxwriter.write_worksheets(
        [(name, records(n)) for n, name in enumerate(names)],
        cast(BinaryIO, target),  # it only writes
        freeze_panes={"general": {"row": 1, "col": 0}},  # the header stays in view
        autofilter=dict.fromkeys(names, True),  # and filters on it
    )
    return count


def _unique(header: list[Any]) -> list[str]:
    # the writer keys each row by column name: two names made equal by neutralising ("=a" and
    # "'=a") would lose a column, so a repeat gets a number, as the walker numbers its clashes
    seen: set[str] = set()
    names = []
    for name in header:
        text, n = str(name), 1
        while text in seen:
            n += 1
            text = f"{name}_{n}"
        seen.add(text)
        names.append(text)
    return names


def _json_object(row: Row) -> dict[str, Any]:
    file_data = parse_file_data(row.get("file_data"))
    obj: dict[str, Any] = fixed_cells(row, file_data)
    obj["min_confidence"] = to_cell(row.get("min_confidence"))
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
