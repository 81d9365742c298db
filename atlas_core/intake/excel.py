"""Reading Excel and OpenDocument workbooks (xlsx, xlsm, xls, ods) through calamine, as text."""

from __future__ import annotations

import datetime as dt
import gc
import io
import zipfile
import zlib
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import python_calamine as calamine

from ..errors import IntakeError
from .extent import damaged_workbook as _damaged
from .package import part_names, workbook_part

# A zip bomb is a few kB that inflates to gigabytes; the zip directory states every member's
# uncompressed size, so we refuse before calamine inflates anything.
MAX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024
# Excel keeps 15 significant digits: an integer from 1e15 up may already have been rounded.
EXACT_NUMBER_LIMIT = 10**15

_ENCRYPTED_MARKERS = ("EncryptionInfo".encode("utf-16-le"), "EncryptedPackage".encode("utf-16-le"))

Source = Path | bytes


def check_zip(source: Source, max_uncompressed: int = MAX_UNCOMPRESSED_BYTES) -> str:
    """Refuse a damaged or zip-bomb workbook; return 'ods' or 'xlsx' from the zip's members."""
    src: Any = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with zipfile.ZipFile(src) as archive:
            infos = archive.infolist()
            total = sum(info.file_size for info in infos)
            if total > max_uncompressed:
                raise IntakeError(
                    f"This workbook would unpack to {total // (1024 * 1024)} MB, more than the "
                    f"{max_uncompressed // (1024 * 1024)} MB allowed.",
                    hint="Save the sheet with the URLs and IDs as a CSV file and upload that instead.",
                )
            parts = part_names(archive)
            mimetype = archive.read(parts["mimetype"])[:100] if "mimetype" in parts else b""
            if b"opendocument.spreadsheet" in mimetype:
                return "ods"
            # The workbook as calamine finds it: named by the package's relationships, or at
            # its usual place, whichever slashes the zip entries use.
            if workbook_part(archive, parts) is not None:
                return "xlsx"
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, zlib.error, NotImplementedError):
        raise _damaged() from None
    raise IntakeError(
        "This file is a zip archive, not an Excel workbook.",
        hint="Unzip it and upload the .xlsx or .csv file inside.",
    )


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
    # One pause from the first row object to the last: re-enabling the collector in between
    # would walk every row list still alive (20 ms on 100,000 rows).
    with _gc_paused():
        try:
            chosen, rows, start = _first_sheet_with_data(
                workbook, names if sheet is None else [sheet]
            )
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
        for j in range(len(rows[0])):
            texts, suspicious = _column_text(list(map(itemgetter(j), rows)))
            columns[j] = pd.arrays.ArrowStringArray(pa.chunked_array([texts]))
            if suspicious:
                mangled[j] = suspicious
        del rows
    return pd.DataFrame(columns), chosen, start[0], start[1], mangled


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a sheet becomes millions of Python objects.

    None of them form cycles, yet each batch of new lists sets off a collection that walks the
    whole heap: on 100,000 rows that doubles the time to_python takes.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


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


_TEXT, _NUMBER, _OTHER = 0, 1, 2
# calamine hands cells over as str, float, int, bool, dates and times, or None.
_KIND_OF: defaultdict[type, int] = defaultdict(lambda: _OTHER, {str: _TEXT, float: _NUMBER})


def _column_text(values: list[Any]) -> tuple[pa.Array, set[int]]:
    """A column of cells as Arrow text, and the positions of numbers too long to be exact.

    Text cells are taken as they are, whole numbers (IDs typed as numbers) are converted in one
    go by Arrow, and only the rest (dates, booleans, fractions, errors) one by one.
    """
    if set(map(type, values)) <= {str}:  # the usual link, ID or name column
        return pa.array(values, type=pa.large_string()), set()
    # One pass sorts the cells by type: text, numbers, anything else.
    kind = np.fromiter(
        map(_KIND_OF.__getitem__, map(type, values)), dtype=np.int8, count=len(values)
    )
    cells = np.array(values, dtype=object)
    at = np.flatnonzero(kind == _NUMBER)
    numbers = cells[at].astype(np.float64)
    whole = (np.mod(numbers, 1) == 0) & (np.abs(numbers) < 2**53)
    text_at = np.flatnonzero(kind == _TEXT)
    other = kind == _OTHER
    other[at[~whole]] = True
    other_at = np.flatnonzero(other)
    parts = [
        pa.array(cells[text_at], type=pa.large_string()),
        pa.array(numbers[whole].astype(np.int64)).cast(pa.large_string()),
        pa.array([cell_text(v) for v in cells[other_at]], type=pa.large_string()),
    ]
    # The three parts hold the rows in another order; put each value back at its row.
    order = np.empty(len(values), dtype=np.int64)
    order[np.concatenate([text_at, at[whole], other_at])] = np.arange(len(values))
    texts = pa.concat_arrays(parts).take(pa.array(order))
    return texts, set(at[np.abs(numbers) >= EXACT_NUMBER_LIMIT].tolist())


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
