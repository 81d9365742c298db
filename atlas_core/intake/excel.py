"""Reading Excel and OpenDocument workbooks (xlsx, xlsm, xls, ods) through calamine, as text."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path
from typing import IO, Any
from zlib import error as zlib_error

import numpy as np
import pandas as pd
import pyarrow as pa
import python_calamine as calamine

from ..errors import IntakeError

# A zip bomb is a few kB that inflates to gigabytes; the zip directory states every member's
# uncompressed size, so we refuse before calamine inflates anything.
MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024
# Excel keeps 15 significant digits: an integer from 1e15 up may already have been rounded.
EXACT_NUMBER_LIMIT = 10**15

# calamine allocates a sheet's whole bounding box, so one cell at XFD1048576 in a 2 KB file asks
# for 17 billion cells and aborts the process; sheets are measured before calamine sees them.
MAX_GRID_CELLS = 20_000_000
_SCAN_CHUNK = 1024 * 1024
# XML allows any white space before an attribute, hence one literal pattern per kind of space
# (literal prefixes keep the scan fast). Only cells in columns of two or three letters can make
# a sheet wide; a row's r holds digits only, a cell's starts with letters.
_SPACES = (b" ", b"\t", b"\n", b"\r")
_ROW_REFS = [re.compile(sp + rb"r=\"(\d+)\"") for sp in _SPACES]
_WIDE_CELLS = [re.compile(sp + rb"r=\"([A-Z]{2,3})(\d+)\"") for sp in _SPACES]
# Excel and openpyxl write r first; when every element in a chunk does, these cheaper forms see
# the same references.
_FAST_ROWS = re.compile(rb'<row r="(\d+)"')
_FAST_WIDE = re.compile(rb'<c r="([A-Z]{2,3})(\d+)"')
# Anything the fast forms could miss, in one pass: a namespace-prefixed element (<x:row>, any
# prefix, non-ASCII too), or a row or cell with anything but exactly one space then r= (another
# attribute first, a tab, a line break).
_IRREGULAR = re.compile(rb'<(?:[^\s<>/!?:="\']+:|row(?: (?!r=")|[\t\n\r])|c(?: (?!r=")|[\t\n\r]))')
_PREFIXED_ROW = re.compile(rb"<[\w.-]+:row[\s>/]")

_ENCRYPTED_MARKERS = ("EncryptionInfo".encode("utf-16-le"), "EncryptedPackage".encode("utf-16-le"))

Source = Path | bytes


def check_zip(source: Source, max_uncompressed: int = MAX_UNCOMPRESSED_BYTES) -> str:
    """Refuse a damaged or zip-bomb workbook; return 'ods' or 'xlsx' from the zip's members."""
    src: Any = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with zipfile.ZipFile(src) as archive:
            infos = archive.infolist()
            names = {info.filename for info in infos}
            mimetype = archive.read("mimetype")[:100] if "mimetype" in names else b""
    except (zipfile.BadZipFile, OSError, EOFError, KeyError):
        raise _damaged() from None
    total = sum(info.file_size for info in infos)
    if total > max_uncompressed:
        raise IntakeError(
            f"This workbook would unpack to {total // (1024 * 1024)} MB, more than the "
            f"{max_uncompressed // (1024 * 1024)} MB allowed.",
            hint="Save the sheet with the URLs and IDs as a CSV file and upload that instead.",
        )
    if b"opendocument.spreadsheet" in mimetype:
        return "ods"
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        return "xlsx"
    raise IntakeError(
        "This file is a zip archive, not an Excel workbook.",
        hint="Unzip it and upload the .xlsx or .csv file inside.",
    )


def check_extent(source: Source, *, max_rows: int, max_cells: int = MAX_GRID_CELLS) -> None:
    """Refuse an xlsx whose sheets reach too far or hold too many rows, before calamine reads it."""
    src: Any = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with zipfile.ZipFile(src) as archive:
            for info in archive.infolist():
                if info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml"):
                    with archive.open(info) as member:
                        extent = _sheet_extent(member, max_rows, max_cells)
                    if extent is not None:
                        raise IntakeError(
                            f"A sheet of this workbook reaches row {extent[0]:,} and column "
                            f"{extent[1]:,}: more than can be checked at once ({max_rows:,} rows).",
                            hint="Copy the document rows into a new sheet (or save them as CSV) "
                            "and upload that file.",
                        )
    except (zipfile.BadZipFile, OSError, EOFError, zlib_error):
        raise _damaged() from None


def _sheet_extent(member: IO[bytes], max_rows: int, max_cells: int) -> tuple[int, int] | None:
    """(rows, columns) as soon as a sheet's XML is seen to go past the limits, else None."""
    rows = last_row = 0
    last_col = 1
    tail = b""
    while chunk := member.read(_SCAN_CHUNK):
        data = tail + chunk
        irregular = _IRREGULAR.search(data) is not None
        rows += chunk.count(b"<row") + (len(_PREFIXED_ROW.findall(chunk)) if irregular else 0)
        # One irregular element sends the whole chunk to the general patterns, rows and cells.
        row_patterns = _ROW_REFS if irregular else [_FAST_ROWS]
        cell_patterns = _WIDE_CELLS if irregular else [_FAST_WIDE]
        for pattern in row_patterns:
            numbers = pattern.findall(data)  # one C-level pass; row numbers rarely repeat
            if numbers:
                last_row = max(last_row, max(map(int, numbers)))
        for pattern in cell_patterns:
            for letters, number in set(pattern.findall(data)):
                last_col = max(last_col, _column_number(letters))
                last_row = max(last_row, int(number))
        reach = max(rows, last_row)
        if reach > max_rows or reach * last_col > max_cells:
            return reach, last_col
        tail = data[-256:]
    return None


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def check_ole(source: Source, filename: str | None) -> None:
    """Refuse a password-protected workbook (an OLE file under an .xlsx name, or one with encryption streams)."""
    head = source[: 1024 * 1024] if isinstance(source, bytes) else _head(source, 1024 * 1024)
    suffix = Path(filename or "").suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".ods") or any(m in head for m in _ENCRYPTED_MARKERS):
        raise _encrypted()


def open_workbook(source: Source) -> calamine.CalamineWorkbook:
    """Open a workbook with calamine, turning its errors into one plain IntakeError."""
    try:
        if isinstance(source, bytes):
            return calamine.CalamineWorkbook.from_filelike(io.BytesIO(source))
        return calamine.CalamineWorkbook.from_path(str(source))
    except calamine.PasswordError:
        raise _encrypted() from None
    except Exception:  # calamine raises several unrelated classes for damaged files
        raise _damaged() from None


def sheet_names(workbook: calamine.CalamineWorkbook) -> list[str]:
    """The worksheet names in workbook order (chart sheets left out)."""
    return [
        m.name for m in workbook.sheets_metadata if m.typ == calamine.SheetTypeEnum.WorkSheet
    ] or list(workbook.sheet_names)


def read_sheet(
    workbook: calamine.CalamineWorkbook, sheet: str | None
) -> tuple[pd.DataFrame, str, int, int, dict[int, set[int]]]:
    """One sheet as a text grid: (grid, sheet name, first row index, first column index, mangled).

    ``mangled`` maps a grid column position to the grid row positions holding numbers of 16 or
    more digits, which Excel cannot store exactly.
    """
    names = sheet_names(workbook)
    if sheet is not None and sheet not in names:
        raise IntakeError(
            f"There is no sheet named {sheet!r} in this workbook.",
            hint=f"The sheets are: {', '.join(repr(n) for n in names)}.",
        )
    try:
        chosen, rows, start = _first_sheet_with_data(workbook, names if sheet is None else [sheet])
    except IntakeError:
        raise
    except Exception:
        raise _damaged() from None
    if not rows:
        raise IntakeError(
            "The workbook has no data in any sheet."
            if sheet is None
            else f"The sheet {sheet!r} is empty.",
            hint="Upload a spreadsheet with a header row and one row per document.",
        )
    columns: dict[int, Any] = {}
    mangled: dict[int, set[int]] = {}
    # A 2-D object array: its columns convert to Arrow far faster than tuples from zip(*rows).
    grid = np.array(rows, dtype=object)
    for j in range(grid.shape[1]):
        texts, suspicious = _column_text(grid[:, j])
        columns[j] = pd.arrays.ArrowStringArray(pa.chunked_array([texts]))
        if suspicious:
            mangled[j] = suspicious
    return pd.DataFrame(columns), chosen, start[0], start[1], mangled


def _first_sheet_with_data(
    workbook: calamine.CalamineWorkbook, names: list[str]
) -> tuple[str, list[list[Any]], tuple[int, int]]:
    """The sheet to read: the first holding links, else the first with a header and a row, else any."""
    fallback: tuple[str, list[list[Any]], tuple[int, int]] | None = None
    for name in names:
        ws = workbook.get_sheet_by_name(name)
        rows = ws.to_python(skip_empty_area=True)
        filled = [r for r in rows[:50] if any(v != "" for v in r)]
        if not filled:
            continue
        found = (name, rows, ws.start or (0, 0))
        if len(names) == 1 or any(_is_link(v) for r in filled for v in r):
            return found
        if fallback is None or (len(fallback[1]) < 2 <= len(filled)):
            fallback = found
    return fallback or (names[0] if names else "", [], (0, 0))


def _is_link(value: Any) -> bool:
    return type(value) is str and value.lstrip()[:8].lower().startswith(("http://", "https://"))


def _column_text(values: np.ndarray) -> tuple[pa.Array, set[int]]:
    """A column of cells as Arrow text, and the positions of numbers too long to be exact."""
    kinds = set(map(type, values))
    if kinds <= {str}:
        return pa.array(values, type=pa.large_string()), set()
    texts = values.copy()
    at = np.flatnonzero(
        np.fromiter((type(v) is float for v in values), dtype=bool, count=len(values))
    )
    numbers = values[at].astype(np.float64)
    # Numbers (IDs typed as numbers) are converted in one go when whole; others one by one.
    whole = (np.mod(numbers, 1) == 0) & (np.abs(numbers) < 2**53)
    converted = pa.array(numbers[whole].astype(np.int64)).cast(pa.large_string()).to_pylist()
    texts[at[whole]] = converted
    if kinds - {str, float} or not whole.all():
        texts = np.array([cell_text(v) for v in texts], dtype=object)
    suspicious = set(at[np.abs(numbers) >= EXACT_NUMBER_LIMIT].tolist())
    return pa.array(texts, type=pa.large_string()), suspicious


def cell_text(value: Any) -> str:
    """A cell as the text a person sees: 1024.0 -> "1024", dates in ISO form, TRUE/FALSE."""
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


def _head(path: Path, size: int) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(size)


def _encrypted() -> IntakeError:
    return IntakeError(
        "This workbook is password-protected (encrypted), so it cannot be read.",
        hint="Open it in Excel, remove the password (File > Info > Protect Workbook), save and upload it again.",
    )


def _damaged() -> IntakeError:
    return IntakeError(
        "This workbook is damaged or not really an Excel file, so it cannot be read.",
        hint="Open it in Excel and save it again as .xlsx, or export the sheet as 'CSV UTF-8'.",
    )
