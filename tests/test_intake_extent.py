"""The extent scan that stands between an xlsx and calamine (which aborts the process on a grid
too big to allocate): it must refuse every sheet whose cells reach too far, however the XML is
written or cut into pieces, and pass every regular sheet that fits.

An oracle below places cells the way calamine does (a cell by its own reference; a cell without
one in the column after the previous cell; a row without a number after the previous row) and
the scan's verdict is checked against it on generated sheets.
"""

from __future__ import annotations

import io
import re
import struct
import threading
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from atlas_core.errors import IntakeError
from atlas_core.intake import extent
from atlas_core.intake.extent import check_extent, sheet_extent

HEAD = b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
TAIL = b"</sheetData></worksheet>"


def letters(number: int) -> str:
    out = ""
    while number:
        number, rest = divmod(number - 1, 26)
        out = chr(65 + rest) + out
    return out


def sheet_xml(rows: list[tuple[int | None, list[tuple[int, int] | None]]]) -> bytes:
    """Rows of (row number or None, cells of (column, row) or None for a cell without r)."""
    out = [HEAD]
    for number, cells in rows:
        out.append(b"<row>" if number is None else f'<row r="{number}">'.encode())
        for ref in cells:
            if ref is None:
                out.append(b"<c><v>1</v></c>")
            else:
                out.append(f'<c r="{letters(ref[0])}{ref[1]}"><v>1</v></c>'.encode())
        out.append(b"</row>")
    out.append(TAIL)
    return b"".join(out)


def true_extent(rows: list[tuple[int | None, list[tuple[int, int] | None]]]) -> tuple[int, int]:
    """(highest row, highest column) of every row and cell, placed as calamine places them."""
    top = right = previous = 0
    for number, cells in rows:
        row = previous + 1 if number is None else number
        previous = row
        top = max(top, row)
        column = 0
        for ref in cells:
            column, at = (column + 1, row) if ref is None else ref
            top, right = max(top, at), max(right, column)
    return top, right


def fits(rows, max_rows: int, max_cells: int) -> bool:
    """The limits as documented: rows up to max_rows, and rows x columns beyond Z up to max_cells."""
    top, right = true_extent(rows)
    return top <= max_rows and top * (right if right > 26 else 1) <= max_cells


def in_pieces(data: bytes, sizes: list[int]):
    """A factory of generators handing ``data`` out in pieces of the given sizes (cycled)."""

    def pieces():
        at, i = 0, 0
        while at < len(data):
            size = sizes[i % len(sizes)]
            yield data[at : at + size]
            at, i = at + size, i + 1

    return pieces


ROW_NUMBER = st.one_of(st.integers(1, 60), st.integers(1, 3_000_000), st.integers(1, 999_999_999))
CELL_ROW = st.one_of(st.integers(1, 60), st.integers(1, 3_000_000), st.integers(1, 5_000_000_000))
COLUMN = st.one_of(st.integers(1, 26), st.integers(1, 800), st.integers(1, 20_000))
REGULAR_ROWS = st.lists(
    st.tuples(ROW_NUMBER, st.lists(st.tuples(COLUMN, CELL_ROW), max_size=4)), min_size=1, max_size=30
)
ANY_ROWS = st.lists(
    st.tuples(
        st.none() | ROW_NUMBER,
        st.lists(st.none() | st.tuples(COLUMN, CELL_ROW), max_size=5),
    ),
    min_size=1,
    max_size=30,
)
LIMITS = st.tuples(st.integers(1, 2_500_000), st.integers(1, 30_000_000))
SIZES = st.lists(st.integers(1, 400), min_size=1, max_size=5)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(rows=REGULAR_ROWS, limits=LIMITS, sizes=SIZES)
def test_a_sheet_written_as_excel_writes_it_is_refused_exactly_when_it_does_not_fit(rows, limits, sizes):
    max_rows, max_cells = limits
    verdict = sheet_extent(in_pieces(sheet_xml(rows), sizes), max_rows, max_cells)
    assert (verdict is None) == fits(rows, max_rows, max_cells)


@SETTINGS
@given(rows=ANY_ROWS, limits=LIMITS, sizes=SIZES)
@example(rows=[(1, []), (None, [])], limits=(1, 2), sizes=[1])  # an unnumbered row 2
def test_no_sheet_that_does_not_fit_is_ever_passed(rows, limits, sizes):
    max_rows, max_cells = limits
    verdict = sheet_extent(in_pieces(sheet_xml(rows), sizes), max_rows, max_cells)
    if verdict is None:
        assert fits(rows, max_rows, max_cells)


@given(threshold=st.integers(0, 10**12), delta=st.integers(-2000, 2000) | st.integers(-(10**13), 10**13))
@example(threshold=1998, delta=1)
@example(threshold=89, delta=1)
def test_the_greater_than_pattern_matches_exactly_the_larger_numbers(threshold, delta):
    number = max(0, threshold + delta)
    pattern = re.compile(extent._greater_than(threshold))
    assert bool(pattern.fullmatch(str(number))) == (number > threshold)


@given(column=st.integers(0, 20_000) | st.integers(0, 10**7), number=st.integers(1, 10**7))
@example(column=51, number=52)  # AY -> AZ
@example(column=700, number=701)  # ZX -> ZY
def test_the_wider_than_pattern_matches_exactly_the_later_columns(column, number):
    pattern = re.compile(extent._wider_than(max(column, 26)))
    assert bool(pattern.fullmatch(letters(number))) == (number > max(column, 26))


def test_a_far_row_in_a_cells_own_reference_is_refused():
    # Excel's own form, so only the cell's reference tells how far down it sits.
    rows = [(1, [(1, 1), (26, 4_000_000_000)])]
    assert sheet_extent(in_pieces(sheet_xml(rows), [1 << 20]), 2_000_000, 20_000_000) == (
        4_000_000_000,
        1,
    )


def test_a_sheet_that_widens_after_its_first_megabytes_is_measured_again_and_refused():
    # Narrow rows pass the fast test with a generous row threshold; the wide cell at the end (in
    # an early row, so its chunk holds no high number) makes that threshold too generous, so a
    # second, exact pass must find row 900,000 in the first chunks.
    narrow = [(900_000, [(1, 900_000)])] + [(r, [(1, r)]) for r in range(1, 2000)]
    rows = narrow + [(5, [(300, 5)])]
    assert not fits(rows, 2_000_000, 20_000_000)
    pieces = in_pieces(sheet_xml(rows), [4096])
    assert extent._Scan(2_000_000, 20_000_000, exact=False).run(pieces()) is extent._UNSURE
    assert sheet_extent(pieces, 2_000_000, 20_000_000) == (900_000, 300)


def test_a_sheet_that_widens_later_but_fits_is_passed_after_the_exact_pass():
    rows = [(r, [(1, r)]) for r in range(1, 2000)] + [(2000, [(300, 2000)])]
    assert fits(rows, 2_000_000, 20_000_000)
    pieces = in_pieces(sheet_xml(rows), [4096])
    assert extent._Scan(2_000_000, 20_000_000, exact=False).run(pieces()) is extent._UNSURE
    assert sheet_extent(pieces, 2_000_000, 20_000_000) is None


def _xlsx(sheet: bytes, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return buffer.getvalue()


FAR = sheet_xml([(1, [(1, 1)]), (2, [(16_384, 1_048_576)])])
NEAR = sheet_xml([(r, [(1, r), (2, r)]) for r in range(1, 500)])


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED, zipfile.ZIP_BZIP2])
def test_check_extent_reads_every_compression_from_bytes_and_from_a_path(tmp_path, method):
    for sheet, refused in ((FAR, True), (NEAR, False)):
        data = _xlsx(sheet, method)
        path = tmp_path / "book.xlsx"
        path.write_bytes(data)
        for source in (data, path):
            if refused:
                with pytest.raises(IntakeError, match="reaches row 1,048,576 and column 16,384"):
                    check_extent(source, max_rows=2_000_000)
            else:
                check_extent(source, max_rows=2_000_000)


def _patch_sizes(data: bytes, member: str, file_size: int) -> bytes:
    """The zip with ``member``'s declared uncompressed size changed in both of its headers."""
    name = member.encode()
    local = data.index(b"PK\x03\x04" + data[4:4])  # first local header
    while data[local + 30 : local + 30 + len(name)] != name:
        local = data.index(b"PK\x03\x04", local + 4)
    central = data.index(b"PK\x01\x02")
    while data[central + 46 : central + 46 + len(name)] != name:
        central = data.index(b"PK\x01\x02", central + 4)
    out = bytearray(data)
    out[local + 22 : local + 26] = struct.pack("<I", file_size)
    out[central + 24 : central + 28] = struct.pack("<I", file_size)
    return bytes(out)


def test_a_sheet_that_inflates_past_its_declared_size_is_refused_as_damaged():
    lying = _patch_sizes(_xlsx(NEAR), "xl/worksheets/sheet1.xml", 1000)
    with pytest.raises(IntakeError, match="damaged"):
        check_extent(lying, max_rows=2_000_000)


def test_an_unknown_compression_method_is_refused_as_damaged():
    data = bytearray(_xlsx(NEAR))
    for signature, at in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        start = 0
        while (start := data.find(signature, start)) >= 0:
            data[start + at : start + at + 2] = struct.pack("<H", 9)  # Deflate64
            start += 4
    with pytest.raises(IntakeError, match="damaged"):
        check_extent(bytes(data), max_rows=2_000_000)


def test_a_refusal_mid_sheet_leaves_no_thread_behind(tmp_path):
    # Enough rows for several chunks, the far cell early, so the scan stops before the end.
    sheet = sheet_xml([(1, [(16_384, 1_048_576)])] + [(r, [(1, r)]) for r in range(2, 400_000)])
    path = tmp_path / "far.xlsx"
    path.write_bytes(_xlsx(sheet))
    before = threading.active_count()
    with pytest.raises(IntakeError):
        check_extent(path, max_rows=2_000_000)
    assert threading.active_count() == before


def test_the_benchmark_shape_passes(tmp_path: Path):
    # Rows past 100,000 with IDs in column A and links in B, as the intake benchmark writes them.
    rows = [(r, [(1, r), (2, r), (3, r)]) for r in range(99_990, 100_010)]
    assert sheet_extent(in_pieces(sheet_xml(rows), [64]), 2_000_000, 20_000_000) is None


def test_a_far_cell_in_the_last_tag_of_a_sheet_cut_short_is_refused():
    # No closing tags after it: the far cell is the very last tag of the part.
    xml = HEAD + b'<row r="1"><c r="A1"><v>1</v></c></row><row r="2"><c r="XFD1048576"/>'
    for sizes in ([1 << 20], [7], [len(xml) - 3]):
        assert sheet_extent(in_pieces(xml, sizes), 2_000_000, 20_000_000) == (1_048_576, 16_384)
