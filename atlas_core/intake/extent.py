"""Measuring an xlsx sheet's XML before calamine reads it, so a far-away cell cannot abort us."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from functools import lru_cache, partial
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import IntakeError
from .package import sheet_parts

# calamine allocates a sheet's whole bounding box from its cells' references, so one cell at
# XFD1048576 (or at Z4000000000) in a 2 KB file asks for billions of cells and aborts the process;
# sheets are measured before calamine sees them. Columns up to Z are not counted: a sheet that
# narrow is bounded by its rows.
_Piece = TypeVar("_Piece")  # what a read-ahead hands on: bytes, or (bytes, is-last)

MAX_GRID_CELLS = 20_000_000
_SCAN_CHUNK = 2 * 1024 * 1024
_RAW_CHUNK = 1024 * 1024
# A sheet part with no markup for this long is no spreadsheet; refusing it bounds the carry-over.
_MAX_TEXT_RUN = 64 * 1024 * 1024
# Excel and openpyxl write every <row> and <c> with r="..." first, in capitals. A chunk where all
# of them do is "regular". calamine also accepts references in other quotes or spacing, cells
# without r (the column counts on from the previous cell), lower case and namespace prefixes: any
# of those makes the chunk irregular and sends it to the general scan, which bounds all of them.
# _IRREGULAR is that test as one RE2 pattern (no lookahead there, so each way to differ from
# r="..." is spelled out), run by Arrow in C++. The data handed to it ends in the byte after the
# chunk, so a reference cut short at the end still counts as irregular. Row numbers of ten digits
# or more are irregular too, so that Python ints hold them.
_IRREGULAR = (
    r'<(?:[^\t\n\v\f\r <>/!?:="\']+:|row r="[0-9]{10}'
    r'|row(?:[\t\n\v\f\r>/]| (?:[^r]|r(?:[^=]|=(?:[^"]|"(?:[^0-9]|[0-9]+[^0-9"])))))'
    r'|c(?:[\t\n\v\f\r>/]| (?:[^r]|r(?:[^=]|=(?:[^"]|"(?:[^A-Z]|[A-Z]+(?:[^A-Z0-9]|[0-9]+[^0-9"])))))))'
)
# In a regular chunk only two things can stretch the grid: a column beyond the widest seen so
# far (and beyond Z), and a row number (of a <row> or of a cell's own reference) above what the
# sheet's width allows. One RE2 pass asks whether the chunk holds either (or anything
# irregular); most chunks hold neither, and then every row number in them is known to be at
# most that threshold and every column at most the widest already counted.
_ANY_ROW = re.compile(rb'<(?:[^\s<>/!?:="\']+:)?row[\s>/]')
_ANY_CELL = re.compile(rb'<(?:[^\s<>/!?:="\']+:)?c[\s>/]')
_ANY_REF = re.compile(rb"\sr\s*=\s*[\"']([^\"'<>]*)")
_REF_PARTS = re.compile(rb"\sr\s*=\s*([\"'])([A-Za-z]*)(\d*)\1")
_ODD_REF = re.compile(rb"\sr\s*=\s*([\"'])(?![A-Za-z]*\d*\1)")
_NOT_LETTERS = re.compile(rb"[^A-Za-z]+")
_NOT_DIGITS = re.compile(rb"\D+")

Source = Path | bytes
Extent = tuple[int, int]


def check_extent(source: Source, *, max_rows: int, max_cells: int = MAX_GRID_CELLS) -> None:
    """Refuse an xlsx whose sheets reach too far or hold too many rows, before calamine reads it."""
    src: Any = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        with zipfile.ZipFile(src) as archive:
            for info in sheet_parts(archive):
                pieces = partial(_inflated, archive, source, info)
                extent = sheet_extent(pieces, max_rows, max_cells)
                if extent is not None:
                    # Formatting alone (styled empty cells and rows) reaches far in many real
                    # sheets; calamine lays out only cells holding something, so judge by those.
                    extent = value_extent(pieces, max_rows, max_cells, extent)
                if extent is not None:
                    raise IntakeError(
                        f"A sheet of this workbook reaches row {extent[0]:,} and column "
                        f"{extent[1]:,}: more than can be checked at once ({max_rows:,} rows).",
                        hint="Copy the document rows into a new sheet (or save them as CSV) "
                        "and upload that file.",
                    )
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError):
        raise damaged_workbook() from None  # NotImplementedError: a compression zipfile lacks


def value_extent(
    pieces: Callable[[], Generator[bytes]], max_rows: int, max_cells: int, extent: Extent
) -> Extent | None:
    """The verdict on a sheet's cells that hold something, once its empty cells and its rows are
    set aside; ``extent`` (the verdict on everything) stands for any sheet not written the regular
    way, where a cell without a reference takes its place from the cells and rows before it."""
    scan = _Scan(max_rows, max_cells, exact=True)
    try:
        verdict = scan.run(_without_blanks(pieces()))
    except _Irregular:  # stop at once: a zip bomb of unnamed rows would be read to its end
        return extent
    return extent if scan.irregular_seen else verdict


class _Irregular(Exception):
    pass


# An empty cell written with its reference, as Excel writes formatting: <c r="A9" s="1"/>. Its
# attributes are matched one by one, so no "/>" inside a quoted value can end it early.
_BLANK_CELL = re.compile(
    rb'<c r="[A-Z]+[0-9]+"(?:[ \t\r\n]+[A-Za-z_][\w.:-]*[ \t\r\n]*=[ \t\r\n]*'
    rb'(?:"[^"<]*"|\'[^\'<]*\'))*[ \t\r\n]*(?:/>|>[ \t\r\n]*</c>)'
)
_ROW_TAG = re.compile(rb"<row(?:[ \t\r\n/][^<>]*)?>|</row>")


def _without_blanks(pieces: Generator[bytes]) -> Generator[bytes]:
    """The sheet's XML without empty referenced cells and without row tags, whole tags at a time."""
    carry = b""
    with closing(pieces):
        for piece in pieces:
            data = carry + piece
            cut = data.rfind(b"<")
            if cut <= 0:
                carry = data
                if len(carry) > _MAX_TEXT_RUN:
                    raise damaged_workbook()
                continue
            carry = data[cut:]
            yield _regular(_ROW_TAG.sub(b"", _BLANK_CELL.sub(b"", data[:cut])), b"<")
    if carry:
        yield _regular(_ROW_TAG.sub(b"", _BLANK_CELL.sub(b"", carry)), b"\x00")


def _regular(data: bytes, after: bytes) -> bytes:
    """``data`` when every cell in it names its place; else _Irregular (``after``: the next byte)."""
    if _matches(_binary(data + after), _IRREGULAR):
        raise _Irregular
    return data


def sheet_extent(
    pieces: Callable[[], Generator[bytes]], max_rows: int, max_cells: int
) -> Extent | None:
    """(rows, columns) of a sheet's XML, given as pieces, when it goes past the limits, else None.

    The first pass leaves row numbers under the threshold uncounted. When the sheet then turns
    out wider than those thresholds allowed for, nothing is proven either way and a second pass
    reads every row number (only sheets that widen after their first few megabytes need it).
    """
    first = _Scan(max_rows, max_cells, exact=False)
    verdict = first.run(pieces())
    if verdict is not _UNSURE:
        return verdict
    return _Scan(max_rows, max_cells, exact=True).run(pieces())


_UNSURE: Any = object()


class _Scan:
    """One pass over a sheet's XML, keeping bounds on the grid calamine would allocate."""

    def __init__(self, max_rows: int, max_cells: int, *, exact: bool) -> None:
        self.max_rows, self.max_cells, self.exact = max_rows, max_cells, exact
        self.exact_row = 0  # the highest row number read
        self.bound_row = 0  # row numbers not read are at most this (chunks the fast test passed)
        self.last_col = 1  # the highest column beyond Z read (1 when none)
        self.irregular_rows = 0  # rows seen in irregular chunks (rows without r count on)
        self.irregular_seen = False
        self.run_cells = self.longest_run = 0  # cells in a row after its last named one

    def run(self, pieces: Generator[bytes]) -> Extent | None | Any:
        """Scan every piece; the extent as soon as it is over the limits, None when proven within."""
        carry = bytearray()  # the tail after the last '<' seen: a tag that may go on
        with closing(_read_ahead(pieces)) as ahead:
            for chunk in ahead:
                first, last = chunk.find(b"<"), chunk.rfind(b"<")
                if first < 0:
                    carry += chunk
                    if len(carry) > _MAX_TEXT_RUN:
                        raise damaged_workbook()
                    continue
                # Whole tags only, and nothing twice: the carried tail up to the chunk's first
                # '<', then the chunk itself (no copy) up to its last. Each goes to the RE2
                # passes with one byte more, the '<' after it, so a reference that runs into
                # the end still looks cut short.
                if carry:
                    head = bytes(carry) + chunk[: first + 1]
                    self.feed(memoryview(head)[:-1], _binary(head))
                if last > first:
                    body = memoryview(chunk)
                    self.feed(body[first:last], _binary(body[first : last + 1]))
                carry = bytearray(chunk[last:])
                if self.over():
                    return self.extent()
            if carry:
                tail = bytes(carry) + b"\x00"  # stands for the byte after the data
                self.feed(memoryview(tail)[:-1], _binary(tail))
                if self.over():
                    return self.extent()
        if self.within(self.bound_row):
            return None
        return self.extent() if self.exact else _UNSURE

    def threshold(self) -> int:
        """The highest row number the sheet's width so far allows (every number, when exact)."""
        if self.exact:
            return 0
        return max(0, min(self.max_rows, self.max_cells // (self.last_col + self.longest_run)))

    def feed(self, data: memoryview, column: pa.Array) -> None:
        """Take one chunk (cut at a '<') into the bounds."""
        if not self.exact and not _matches(column, _flagged(self.threshold(), self.last_col)):
            self.bound_row = max(self.bound_row, self.threshold())
            return
        if _matches(column, _IRREGULAR):
            self._feed_irregular(data)
            return
        wider, wider_cells = _wider_cells(self.last_col)
        if _matches(column, wider):  # cells in columns not counted yet: read those one by one
            for letters, number in set(wider_cells.findall(data)):
                self.last_col = max(self.last_col, _column_number(letters))
                self.exact_row = max(self.exact_row, int(number))
        # Only the numbers above the threshold (for this chunk's width) are read one by one.
        limit = self.threshold()
        numbers = set(_greater_than_bytes(limit).findall(data))
        self.exact_row = max(self.exact_row, max(map(int, numbers), default=0))
        self.bound_row = max(self.bound_row, limit)

    def _feed_irregular(self, data: memoryview) -> None:
        self.irregular_seen = True
        if _ODD_REF.search(data):  # a reference not shaped letters-then-digits: take it apart
            refs = [
                (b"", _NOT_LETTERS.sub(b"", ref), _NOT_DIGITS.sub(b"", ref))
                for ref in set(_ANY_REF.findall(data))
            ]
        else:
            refs = _REF_PARTS.findall(data)
        for name in {letters for _, letters, _ in refs}:
            self.last_col = max(self.last_col, _column_number(name.upper()))
        numbers = {digits for _, _, digits in refs if digits}
        self.exact_row = max(self.exact_row, max(map(int, numbers), default=0))
        row_starts = np.array([m.start() for m in _ANY_ROW.finditer(data)], dtype=np.int64)
        cell_starts = np.array([m.start() for m in _ANY_CELL.finditer(data)], dtype=np.int64)
        self.irregular_rows += len(row_starts)
        # A cell without r takes the column after the previous cell of its row, so a row can
        # reach as far right as its first named column plus the cells that follow it.
        per_row = np.bincount(
            np.searchsorted(row_starts, cell_starts, "right"), minlength=len(row_starts) + 1
        )
        per_row[0] += self.run_cells
        self.longest_run = max(self.longest_run, int(per_row.max()))
        self.run_cells = int(per_row[-1])

    def within(self, row_bound: int) -> bool:
        """Whether the grid is within the limits when no row number read or not exceeds row_bound."""
        top = max(self.exact_row, row_bound)
        # Rows without r count on from the last numbered one, so where any may lack it the grid
        # is bounded by the numbers plus the rows.
        height = top + self.irregular_rows if self.irregular_seen else top
        width = self.last_col + self.longest_run
        return height <= self.max_rows and height * width <= self.max_cells

    def over(self) -> bool:
        """Whether what was read so far already puts the grid past the limits."""
        return not self.within(0)

    def extent(self) -> Extent:
        top = max(self.exact_row, self.irregular_rows)
        return top, self.last_col + self.longest_run


@lru_cache(maxsize=64)
def _flagged(threshold: int, column: int) -> str:
    """RE2: anything irregular, a cell beyond ``column``, or a row number over ``threshold``."""
    return (
        f"{_IRREGULAR}|{_wider_cells(column)[0]}"
        f'|<(?:row r="|c r="[A-Z]+)0*(?:{_greater_than(threshold)})"'
    )


@lru_cache(maxsize=64)
def _wider_cells(column: int) -> tuple[str, re.Pattern[bytes]]:
    """(RE2 test, Python re with the letters and row) for cells beyond ``column`` and beyond Z."""
    letters = _wider_than(max(column, 26))
    return f'<c r="(?:{letters})[0-9]', re.compile(f'<c r="({letters})([0-9]+)"'.encode())


def _wider_than(column: int) -> str:
    """A regex for the column names (A, B, ..., Z, AA, ...) of the columns after ``column``."""
    name = _column_name(column)
    # Longer names, then for each position: the same letters before it and a later letter there.
    options = [f"[A-Z]{{{len(name) + 1},}}"]
    for i, letter in enumerate(name):
        if letter != "Z":
            options.append(f"{name[:i]}[{chr(ord(letter) + 1)}-Z][A-Z]{{{len(name) - i - 1}}}")
    return "|".join(options)


def _column_name(number: int) -> str:
    name = ""
    while number:
        number, rest = divmod(number - 1, 26)
        name = chr(65 + rest) + name
    return name


@lru_cache(maxsize=64)
def _greater_than_bytes(threshold: int) -> re.Pattern[bytes]:
    """Python re: the row numbers (of rows and of cell references) over threshold, as written."""
    pattern = f'<(?:row r="|c r="[A-Z]+)0*({_greater_than(threshold)})"'
    return re.compile(pattern.encode())


def _greater_than(threshold: int) -> str:
    """A regex for the decimal numbers (no leading zeros) greater than ``threshold``."""
    digits = str(threshold)
    # Longer numbers, then for each position: the same digits before it and a larger digit there.
    options = [f"[1-9][0-9]{{{len(digits)},}}"]
    for i, digit in enumerate(digits):
        if digit != "9":
            low = int(digit) + 1 if i else max(int(digit) + 1, 1)
            options.append(f"{digits[:i]}[{low}-9][0-9]{{{len(digits) - i - 1}}}")
    return "|".join(options)


def _read_ahead(pieces: Generator[_Piece]) -> Generator[_Piece]:
    """``pieces``, each made on a helper thread while the caller scans the one before.

    Inflating (zlib) and the RE2 passes (Arrow) both release the GIL, so on two cores the scan
    takes about as long as the slower of the two instead of their sum.
    """
    # The pool is shut down (its last piece made) before the pieces are closed.
    with closing(pieces), ThreadPoolExecutor(1, thread_name_prefix="extent") as pool:
        pending = pool.submit(next, pieces, None)
        while piece := pending.result():  # None once they run out (an empty piece ends them too)
            pending = pool.submit(next, pieces, None)
            yield piece


def _inflated(archive: zipfile.ZipFile, source: Source, info: zipfile.ZipInfo) -> Generator[bytes]:
    """A zip member's bytes, a chunk at a time, never more than the size its directory declares.

    A deflated member is inflated straight from its compressed bytes: zipfile's reader adds a
    CRC pass and small reads that together cost as much as the inflating (calamine checks the
    CRC itself when it reads the sheet).
    """
    if info.flag_bits & 0x1:  # encrypted inside the zip: no spreadsheet program writes that
        raise damaged_workbook()
    if info.compress_type not in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED):
        with archive.open(info) as member:
            while chunk := member.read(_SCAN_CHUNK):
                yield chunk
        return
    with open(source, "rb") if isinstance(source, Path) else io.BytesIO(source) as fh:
        yield from _member_bytes(fh, info)


def _member_bytes(fh: IO[bytes], info: zipfile.ZipInfo) -> Iterator[bytes]:
    fh.seek(info.header_offset)
    header = fh.read(30)
    if len(header) != 30 or header[:4] != b"PK\x03\x04":
        raise damaged_workbook()
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    fh.seek(info.header_offset + 30 + name_length + extra_length)
    left, produced = info.compress_size, 0
    inflate = zlib.decompressobj(-zlib.MAX_WBITS) if info.compress_type else None
    while left > 0:
        raw = fh.read(min(_RAW_CHUNK if inflate else _SCAN_CHUNK, left))
        if not raw:
            raise damaged_workbook()  # the member ends before its stated size
        left -= len(raw)
        while raw:
            out = inflate.decompress(raw, _SCAN_CHUNK) if inflate else raw
            raw = inflate.unconsumed_tail if inflate else b""
            produced += len(out)
            if produced > info.file_size:  # more than declared: a disguised zip bomb
                raise damaged_workbook()
            if out:
                yield out


def _binary(data: bytes | memoryview) -> pa.Array:
    """``data`` as a one-value Arrow binary column, without a copy, for RE2 passes in C++."""
    offsets = pa.py_buffer(np.array([0, len(data)], dtype=np.int64))  # type: ignore[arg-type]  # pyarrow-stubs: numpy arrays are buffers
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
