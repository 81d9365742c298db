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
into a temporary file and read back: 100,000 documents never sit in memory twice.
"""

from __future__ import annotations

import io
import json
import math
import os
import pickle
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

import pandas as pd

from ..errors import AtlasError
from ..neutralise import (
    XLSX_MAX_COLUMNS,
    XLSX_MAX_ROWS,
    neutralise_text,
    write_csv_table,
    xlsx_cell,
)
from .flatten import (
    FIXED_COLUMNS,
    LONG_COLUMNS,
    Cell,
    SortKey,
    column_order,
    fixed_cells,
    flatten_with_keys,
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
    if fmt == "json":
        objects = (_json_object(row) for row in rows) if layout == "wide" else iter_long_rows(rows)
        return _write_json(objects, target)
    table = wide_table(rows) if layout == "wide" else _long_table(rows)
    if fmt == "csv":
        return write_csv_table(table, target)
    return _write_xlsx(table, target, "documents" if layout == "wide" else "fields")


def wide_table(rows: Iterable[Row]) -> Iterator[list[Cell]]:
    """The wide layout as a header list followed by one list of cells per document."""
    with tempfile.TemporaryFile() as spool:
        keys: dict[str, SortKey] = {}
        document_types: set[object] = set()
        count = 0
        for row in rows:
            file_data = parse_file_data(row.get("file_data"))
            cells = flatten_with_keys(file_data)
            for column, (_, key) in cells.items():
                if column not in keys or key < keys[column]:
                    keys[column] = key
            fixed = fixed_cells(row, file_data)
            document_types.add(fixed["document_type"])
            pickle.dump(
                ([fixed[c] for c in FIXED_COLUMNS], {c: v for c, (v, _) in cells.items()}),
                spool,
                protocol=pickle.HIGHEST_PROTOCOL,
            )
            count += 1
        field_columns = column_order(keys, document_types)
        yield [*FIXED_COLUMNS, *field_columns]
        spool.seek(0)
        for _ in range(count):
            fixed_values, flat = pickle.load(spool)
            yield fixed_values + [flat.get(column) for column in field_columns]


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
    table = wide_table(rows) if layout == "wide" else _long_table(rows)
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


def _write_xlsx(table: Iterable[list[Cell]], target: IO[bytes], title: str) -> int:
    from openpyxl import Workbook  # imported here: only XLSX exports pay for it

    iterator = iter(table)
    header = [xlsx_cell(c) for c in next(iterator)]
    if len(header) > XLSX_MAX_COLUMNS:
        raise AtlasError(
            f"This export needs {len(header):,} columns, more than Excel's {XLSX_MAX_COLUMNS:,}.",
            hint="Export the long layout or CSV instead.",
        )
    workbook = Workbook(write_only=True)
    sheet, sheets, in_sheet, count = None, 0, XLSX_MAX_ROWS, 0
    for line in iterator:
        # Excel stops at 1,048,576 rows: carry on in a new sheet (the first row starts the first).
        if in_sheet >= XLSX_MAX_ROWS or sheet is None:
            sheets += 1
            sheet = workbook.create_sheet(title if sheets == 1 else f"{title} ({sheets})")
            sheet.append(header)
            in_sheet = 1
        sheet.append([xlsx_cell(value) for value in line])
        in_sheet += 1
        count += 1
    if sheet is None:
        workbook.create_sheet(title).append(header)
    workbook.save(target)
    return count


def _json_object(row: Row) -> dict[str, Any]:
    file_data = parse_file_data(row.get("file_data"))
    obj: dict[str, Any] = fixed_cells(row, file_data)
    obj["min_confidence"] = to_cell(row.get("min_confidence"))
    obj["file_data"] = file_data
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
