"""Hostile and unusual spreadsheets: over-wide CSV rows, unclosed quotes, endless lines, and real
workbooks written by other programs.

Reads that could take the machine down (or make calamine abort the process, if a defence failed)
run in a child process with its address space capped at about 1 GB over what it starts with and
a generous time limit: the bound is asserted as a correctness property (the read ends, in a plain
refusal, within the budget), never as a timing. Files are generated here or by
tests/hostile/make_hostile.py, never committed.
"""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from atlas_core.errors import IntakeError
from atlas_core.intake import read_spreadsheet, validate_sheet
from atlas_core.intake.rowshape import measure_rows
from tests.test_hostile_files import CASES, PYTHON_INTERNALS, run_capped

BUDGET = 1024 * 1024 * 1024  # address space a read may add to the child (RLIMIT_AS)
TIME_LIMIT = 120.0  # seconds; these reads end in well under five
GOOD = "https://files.example.com/kyc/{}.jpg"


def _rows_read(path: str) -> int:
    return validate_sheet(read_spreadsheet(path)).rows


def read_capped(path: Path) -> tuple[str, object]:
    """('report', rows) | ('error', message) | ('crash', traceback) | ('killed'|'timeout', ...)."""
    return run_capped(_rows_read, path, BUDGET, TIME_LIMIT)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A function writing one corpus case (by name) once, returning its path."""
    folder = tmp_path_factory.mktemp("rows")

    def write(name: str) -> Path:
        path = folder / name
        if not path.exists():
            CASES[name].write(path)
        return path

    return write


# Over-wide rows, unclosed quotes and endless lines: refused while reading, naming the line -------

REFUSALS = {
    "wide_row_400kb.csv": r"^Line 2 has 200,000 columns; at most 500 columns can be read\.",
    "wide_row_1mb.csv": r"^Line 2 has 500,000 columns; at most 500 columns can be read\.",
    "wide_header_200k_columns.csv": r"^Line 1 has 200,002 columns; at most 500 columns can be read\.",
    "unclosed_quote.csv": r'^Line 3 opens a quoted value \(\"\) that is never closed',
    "short_rows_then_wide_row.csv": r"^Line 300,002 has 200,003 columns; at most 500",
    "fifty_mb_line.csv": r"^Line 2 runs for more than 8 MB without a line break",
    "fifty_mb_of_delimiters.csv": r"^Line 2 has more than 16,384 columns; at most 500",
    "fifty_mb_of_fields.csv": r"^Line 2 has more than 16,384 columns; at most 500",
    "blank_line_flood.csv": r"^This file has more than 4,000,000 lines \(blank ones included\)",
    "wide_rows_sniffed_as_semicolons.csv": r"^Line 2 has 6,001 columns; at most 500",
}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_a_hostile_csv_is_refused_naming_the_line_within_a_gigabyte(written, name):
    kind, detail = read_capped(written(name))
    assert kind == "error", f"{name}: {kind}\n{detail}"
    assert re.search(REFUSALS[name], detail), detail
    assert not PYTHON_INTERNALS.search(detail) and "pandas" not in detail and "pyarrow" not in detail


def test_a_quote_left_open_is_named_by_the_line_it_opens_on_after_quoted_line_breaks():
    data = (b'document_id,file_url,address\r\nD1,' + GOOD.format(1).encode()
            + b',"1 Main St\r\nFlat 2"\r\nD2,' + GOOD.format(2).encode() + b',"5 High St\r\nD3,x,y\r\n')
    with pytest.raises(IntakeError, match=r"^Line 4 opens a quoted value"):
        read_spreadsheet(data, filename="open.csv")


def test_a_wide_row_after_quoted_line_breaks_is_named_by_its_line_not_its_row():
    data = (b'document_id,file_url,address\r\nD1,' + GOOD.format(1).encode()
            + b',"1 Main St\r\nFlat 2\r\nCity"\r\n' + b"D2,x," + b"v," * 600 + b"v\r\n")
    with pytest.raises(IntakeError, match=r"^Line 5 has 603 columns; at most 500"):
        read_spreadsheet(data, filename="wide.csv")


def test_rows_times_columns_past_the_grid_limit_are_refused_naming_the_widest_line():
    # 700,000 rows of two values, and one line reaching column 40: 28 million cells of grid.
    line = b"D," + GOOD.format(1).encode() + b"\n"
    data = b"document_id,file_url\n" + line * 700_000 + b"x," * 39 + b"x\n" + line
    with pytest.raises(IntakeError, match=r"^This file has 700,003 rows and line 700,002 has values in 40"):
        read_spreadsheet(data, filename="grid.csv")


def test_a_quote_that_closes_megabytes_later_is_refused_as_a_lost_quote():
    rows = b"".join(b"D%d," % i + GOOD.format(i).encode() + b"\r\n" for i in range(250_000))
    data = b'document_id,file_url\r\n"D0,x\r\n' + rows + b'D9,"x"\r\n'
    with pytest.raises(IntakeError, match=r"^Line 2 opens a quoted value .* its closing quote is probably missing"):
        read_spreadsheet(data, filename="lost.csv")


# What still reads: rows padded with empty fields, quoted line breaks, long (but sane) cells -----


def test_rows_padded_with_empty_fields_past_column_500_still_read():
    line = lambda i: b"D%d," % i + GOOD.format(i).encode() + b"," * 700 + b"\r\n"  # noqa: E731
    data = b"document_id,file_url" + b"," * 700 + b"\r\n" + b"".join(line(i) for i in range(3))
    sheet = read_spreadsheet(data, filename="padded.csv")
    assert list(sheet.frame.columns) == ["document_id", "file_url"]
    assert list(sheet.frame["document_id"]) == ["D0", "D1", "D2"]


@pytest.mark.slow
def test_quoted_line_breaks_in_a_file_larger_than_arrows_blocks_are_read(written):
    sheet = read_spreadsheet(written("quoted_line_breaks_over_a_block.csv"))
    assert len(sheet.frame) == 60_000
    assert sheet.frame["address"].iloc[-1] == "12 Main St\r\nFlat 59999"
    assert list(sheet.row_numbers[:2]) == [2, 3] and sheet.row_numbers[-1] == 60_001


def test_a_line_of_a_few_megabytes_is_read_with_its_cell_whole():
    big = "n" * (3 * 1024 * 1024)
    data = f"document_id,file_url,note\r\nD1,{GOOD.format(1)},{big}\r\nD2,{GOOD.format(2)},x\r\n"
    sheet = read_spreadsheet(data.encode(), filename="long.csv")
    assert list(sheet.frame["note"]) == [big, "x"]


# The scan against a reference reader, however the bytes are cut into segments -----------------


def reference(text: str) -> tuple[list[list[str]], int | None, bool]:
    """(rows, line where an unclosed quote opens or None, whether quoted values hold breaks):
    the csv module's rules, written out one character at a time."""
    rows, row, field, state, seen = [], [], [], "start", False
    line, open_line, breaks, at = 1, None, False, 0
    while at < len(text):
        ch = text[at]
        crlf = ch == "\r" and text[at + 1 : at + 2] == "\n"
        if ch in "\r\n":
            line += 0 if crlf else 1
        if state == "quoted":
            if ch == '"':
                state = "quote"
            else:
                breaks |= ch in "\r\n"
                field.append(ch)
        elif ch == '"' and state == "start":
            state, open_line = "quoted", line
        elif ch == '"' and state == "quote":
            state = "quoted"
            field.append('"')
        elif ch == ",":
            row.append("".join(field))
            field, state = [], "start"
        elif ch in "\r\n":
            if seen:  # a blank line is a row of no fields
                row.append("".join(field))
            rows.append(row)
            row, field, state, seen = [], [], "start", False
            at += 1 if crlf else 0
            line += 1 if crlf else 0
        else:
            field.append(ch)
            state = "field"
        seen = seen or ch not in "\r\n" or state in ("quoted", "quote")
        at += 1
    if state == "quoted":
        return rows, open_line, breaks
    if field or row or state != "start":
        row.append("".join(field))
        rows.append(row)
    return rows, None, breaks


TEXT = st.lists(st.sampled_from(["a", "bc", ",", ",,", '"', '""', "\n", "\r\n", "\r", " "]), max_size=60).map("".join)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT, segment=st.integers(1, 40))
@example(text='a,"b\r\nc",d\r\n"', segment=3)
@example(text='"a"b"\n",c', segment=1)
def test_the_scan_counts_rows_and_fields_as_the_csv_module_reads_them(text, segment):
    rows, open_line, breaks = reference(text)
    data = text.encode()
    if open_line is not None:
        with pytest.raises(IntakeError, match=rf"^Line {open_line} opens a quoted value"):
            measure_rows(data, ",", "utf-8", max_rows=1000, segment=segment)
        return
    assert rows == list(csv.reader(io.StringIO(text, newline="")))  # the reference is csv's
    shape = measure_rows(data, ",", "utf-8", max_rows=1000, segment=segment)
    assert shape.records == len(rows)
    assert shape.widest == max((len(r) or 1 for r in rows), default=0)
    furthest = max((max((j + 1 for j, v in enumerate(r) if v), default=0) for r in rows), default=0)
    assert furthest <= shape.reach <= max(shape.widest, 0)  # never cuts a value off
    assert shape.quoted_breaks == breaks


# Real workbooks from other programs read; a giant in the same clothes is still refused ---------

REAL_WORKBOOKS = [name for name in CASES if name.startswith("real_")]
GIANTS = [
    "far_cell_backslash_entries.xlsx", "far_cell_sheet_outside_worksheets.xlsx",
    "far_cell_workbook_elsewhere.xlsx", "far_cell_among_styled_blanks.xlsx",
    "far_cell_slash_in_attribute.xlsx", "far_cell_unnamed_after_blank.xlsx",
    "far_cell_in_a_twin_entry.xlsx",
]


@pytest.mark.parametrize("name", REAL_WORKBOOKS)
def test_a_workbook_calamine_reads_is_read_whatever_its_part_names_and_formatting(written, name):
    sheet = read_spreadsheet(written(name))
    assert list(sheet.frame["document_id"]) == ["D1", "D2"]
    assert list(sheet.frame["file_url"]) == [GOOD.format(1), GOOD.format(2)]
    assert validate_sheet(sheet).valid == 2


def test_styled_blanks_to_the_last_row_do_not_count_against_a_smaller_row_limit(written):
    sheet = read_spreadsheet(written("real_styled_blanks_to_last_row.xlsx"), max_rows=1000)
    assert list(sheet.row_numbers) == [2, 3]


@pytest.mark.parametrize("name", GIANTS)
def test_a_far_value_cell_is_refused_in_every_layout_and_among_styled_blanks(written, name):
    # In a child: were the defence to fail, calamine would abort the process.
    kind, detail = read_capped(written(name))
    assert kind == "error", f"{name}: {kind}\n{detail}"
    assert re.match(r"A sheet of this workbook reaches row 1,048,576 and column 16,38[345]:", detail), detail
