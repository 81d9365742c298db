"""Measuring an xlsx sheet's XML before calamine reads it, so a far-away cell cannot abort us."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import IO, Any
from zlib import error as zlib_error

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import IntakeError

# calamine allocates a sheet's whole bounding box, so one cell at XFD1048576 in a 2 KB file asks
# for 17 billion cells and aborts the process; sheets are measured before calamine sees them.
MAX_GRID_CELLS = 20_000_000
_SCAN_CHUNK = 4 * 1024 * 1024
# A sheet part with no markup for this long is no spreadsheet; refusing it bounds the carry-over.
_MAX_TEXT_RUN = 64 * 1024 * 1024
# Excel and openpyxl write every <row> and <c> with r="..." first, in capitals. In a chunk where
# all of them do (_IRREGULAR finds nothing), RE2 passes in Arrow read every row number and
# findall looks for cells in columns of two letters or more (one letter cannot make a sheet
# wide). calamine also accepts references in other quotes or spacing, cells without r (the column
# counts on from the previous cell), lower case and namespace prefixes: any of those sends the
# chunk to the general scan, which bounds all of them.
_LEADING_NUMBER = r'^(?P<g>[0-9]+)"'
_ANY_WIDE = r'<c r="[A-Z]{2}'
_FAST_WIDE = re.compile(rb'<c r="([A-Z]{2,})(\d+)"')
# The same test as one RE2 pattern (no lookahead there, so each way to differ from r="..." is
# spelled out), run by Arrow in C++ at about twice the speed of `re`. The data handed to it ends
# in the byte after the chunk, so a reference cut short at the end still counts as irregular.
# Row numbers of ten digits or more go to the general scan too, where Python ints hold them.
_IRREGULAR = (
    r'<(?:[^\t\n\v\f\r <>/!?:="\']+:|row r="[0-9]{10}'
    r'|row(?:[\t\n\v\f\r>/]| (?:[^r]|r(?:[^=]|=(?:[^"]|"(?:[^0-9]|[0-9]+[^0-9"])))))'
    r'|c(?:[\t\n\v\f\r>/]| (?:[^r]|r(?:[^=]|=(?:[^"]|"(?:[^A-Z]|[A-Z]+(?:[^A-Z0-9]|[0-9]+[^0-9"])))))))'
)
_ANY_ROW = re.compile(rb'<(?:[^\s<>/!?:="\']+:)?row[\s>/]')
_ANY_CELL = re.compile(rb'<(?:[^\s<>/!?:="\']+:)?c[\s>/]')
_ANY_REF = re.compile(rb"\sr\s*=\s*[\"']([^\"'<>]*)")
_REF_PARTS = re.compile(rb"\sr\s*=\s*([\"'])([A-Za-z]*)(\d*)\1")
_ODD_REF = re.compile(rb"\sr\s*=\s*([\"'])(?![A-Za-z]*\d*\1)")
_NOT_LETTERS = re.compile(rb"[^A-Za-z]+")
_NOT_DIGITS = re.compile(rb"\D+")

Source = Path | bytes


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
        raise damaged_workbook() from None


def _sheet_extent(member: IO[bytes], max_rows: int, max_cells: int) -> tuple[int, int] | None:
    """(rows, columns) as soon as a sheet's XML is seen to go past the limits, else None.

    Chunks are cut at their last '<', so no tag or attribute is split and nothing is counted twice.
    """
    rows = last_row = run = longest_run = 0
    last_col = 1
    irregular_seen = False
    buffer = bytearray()
    while True:
        chunk = member.read(_SCAN_CHUNK)
        buffer += chunk
        cut = buffer.rfind(b"<") if chunk else len(buffer)
        if cut <= 0:
            if len(buffer) > _MAX_TEXT_RUN:
                raise damaged_workbook()
            if not chunk:
                break
            continue
        if not chunk:
            buffer += b"\x00"  # stands for the byte after the data, as the next '<' does
        # Views, not copies: the data up to the cut, and for the RE2 passes one byte more.
        data = memoryview(buffer)[:cut]
        column = _binary(memoryview(buffer)[: cut + 1])
        if not _matches(column, _IRREGULAR):
            # Each piece after a '<row r="' starts with that row's number (the chunk is regular).
            pieces = pc.list_flatten(pc.split_pattern(column, '<row r="'))[1:]
            rows += len(pieces)
            if len(pieces):
                numbers = pc.struct_field(pc.extract_regex(pieces, _LEADING_NUMBER), "g")
                last_row = max(last_row, pc.max(pc.cast(numbers, pa.int64())).as_py() or 0)
            wide = _FAST_WIDE.findall(data) if _matches(column, _ANY_WIDE) else []
            for letters, number in set(wide):
                last_col = max(last_col, _column_number(letters))
                last_row = max(last_row, int(number))
        else:
            irregular_seen = True
            if _ODD_REF.search(data):  # a reference not shaped letters-then-digits: take it apart
                refs = [
                    (b"", _NOT_LETTERS.sub(b"", ref), _NOT_DIGITS.sub(b"", ref))
                    for ref in set(_ANY_REF.findall(data))
                ]
            else:
                refs = _REF_PARTS.findall(data)
            for name in {letters for _, letters, _ in refs}:
                last_col = max(last_col, _column_number(name.upper()))
            numbers = {digits for _, _, digits in refs if digits}
            last_row = max(last_row, max(map(int, numbers), default=0))
            row_starts = np.array([m.start() for m in _ANY_ROW.finditer(data)], dtype=np.int64)
            cell_starts = np.array([m.start() for m in _ANY_CELL.finditer(data)], dtype=np.int64)
            rows += len(row_starts)
            # A cell without r takes the column after the previous cell of its row, so a row can
            # reach as far right as its first named column plus the cells that follow it.
            per_row = np.bincount(
                np.searchsorted(row_starts, cell_starts, "right"), minlength=len(row_starts) + 1
            )
            per_row[0] += run
            longest_run = max(longest_run, int(per_row.max()))
            run = int(per_row[-1])
        reach = max(rows, last_row)
        # Rows without r count on from the last numbered one, so where any may lack it the grid
        # is bounded by the numbers plus the rows.
        height = last_row + rows if irregular_seen else reach
        width = last_col + longest_run
        if reach > max_rows or height * width > max_cells:
            return reach, width
        if not chunk:
            break
        buffer = buffer[cut:]  # a new, small buffer: the views above keep the old one alive
    return None


def _binary(data: bytes | memoryview) -> pa.Array:
    """``data`` as a one-value Arrow binary column, without a copy, for RE2 passes in C++."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))
    return pa.Array.from_buffers(pa.large_binary(), 1, [None, offsets, pa.py_buffer(data)])


def _matches(column: pa.Array, pattern: str) -> bool:
    """Whether the RE2 ``pattern`` occurs in the one value of ``column``."""
    return bool(pc.match_substring_regex(column, pattern)[0].as_py())


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def damaged_workbook() -> IntakeError:
    """The one plain error for a workbook that cannot be read as one."""
    return IntakeError(
        "This workbook is damaged or not really an Excel file, so it cannot be read.",
        hint="Open it in Excel and save it again as .xlsx, or export the sheet as 'CSV UTF-8'.",
    )
