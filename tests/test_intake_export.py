"""The file to fix and re-upload: original rows plus a problems column, CSV and xlsx, formulas defused."""

from __future__ import annotations

import datetime as dt
import io
import sys
from pathlib import Path

import openpyxl
import pytest

from atlas_core.intake import read_spreadsheet, validate_sheet

CORPUS = Path(__file__).parent / "corpus"
sys.path.insert(0, str(CORPUS))
from make_corpus import CODE_ROWS, CORPUS_NOW  # noqa: E402

NOW = dt.datetime(2025, 11, 21, 12, tzinfo=dt.UTC)
RISKY = ['=HYPERLINK("http://evil.example")', "+1234", "-12", "@SUM(A1)", "\tx", "\rx"]


@pytest.fixture(scope="module")
def report():
    """The corpus codes file, validated at the corpus time."""
    return validate_sheet(read_spreadsheet(CORPUS / "codes.csv"), now=CORPUS_NOW)


def test_csv_export_round_trips_and_explains_each_row(report):
    data = report.problems_file("csv")
    assert data.startswith("\ufeff".encode())  # Excel needs the BOM to read UTF-8
    again = read_spreadsheet(data, filename="fixed.csv")
    assert again.columns == ["row", "reference", "url", "expected_code", "problems"]
    # Every row of the corpus has a problem, so the order is the sheet's own.
    assert again.frame["row"].tolist() == [str(n) for n in report.sheet.row_numbers]
    assert again.frame["url"].tolist() == report.sheet.frame["url"].tolist()
    assert again.frame["reference"].tolist() == report.sheet.frame["reference"].tolist()
    for expected, problems in zip(
        again.frame["expected_code"], again.frame["problems"], strict=True
    ):
        assert problems.startswith(f"[{expected}] ")


def test_only_problem_rows(report):
    clean = validate_sheet(read_spreadsheet(CORPUS / "utf8_comma.csv"), now=CORPUS_NOW)
    assert clean.rows == 4 and clean.invalid == 0
    full = read_spreadsheet(clean.problems_file("csv"), filename="a.csv")
    assert len(full) == 4 and set(full.frame["problems"]) == {""}
    only = read_spreadsheet(report.problems_file("csv", only_problems=True), filename="b.csv")
    assert len(only) == len(CODE_ROWS)


def test_xlsx_export_keeps_every_value_and_never_runs_formulas():
    ids = [str(i) for i in range(len(RISKY))]
    data = (
        "document_id,file_url\n"
        + "".join(
            f'{i},"{u.replace(chr(34), chr(34) * 2)}"\n' for i, u in zip(ids, RISKY, strict=True)
        )
    ).encode()
    report = validate_sheet(read_spreadsheet(data, filename="risky.csv"), now=NOW)
    assert report.invalid == len(RISKY)
    book = openpyxl.load_workbook(io.BytesIO(report.problems_file("xlsx")))
    sheet = book.active
    rows = list(sheet.iter_rows(min_row=2))
    # Byte-identical, not prefixed with a quote; only the CR, which XML cannot keep, is escaped.
    assert [r[2].value for r in rows] == RISKY[:-1] + ["\\x0dx"]
    for row in rows:
        assert row[2].data_type == "s"  # a string cell, never a formula
    assert [r[2].quotePrefix for r in rows] == [True] * 5 + [False]  # Excel keeps them text on edit
    assert [c.value for c in next(sheet.iter_rows(max_row=1))] == [
        "row",
        "document_id",
        "file_url",
        "problems",
    ]


def test_xlsx_export_survives_characters_xml_cannot_hold():
    data = b'document_id,file_url\n"a\x01b",https://x.example/1.jpg\n'
    report = validate_sheet(read_spreadsheet(data, filename="ctl.csv"), now=NOW)
    sheet = openpyxl.load_workbook(io.BytesIO(report.problems_file("xlsx"))).active
    assert sheet["B2"].value == "a\\x01b"
    assert "ID_CONTROL_CHARS" in sheet["D2"].value


def test_a_column_named_problems_is_not_overwritten():
    data = b"id,url,problems\n1,https://x.example/1.jpg,mine\n"
    report = validate_sheet(read_spreadsheet(data, filename="p.csv"), now=NOW)
    again = read_spreadsheet(report.problems_file("csv"), filename="again.csv")
    assert again.columns == ["row", "id", "url", "problems", "_problems"]
    assert again.frame["problems"].tolist() == ["mine"]


def test_unknown_format_is_refused(report):
    with pytest.raises(ValueError, match="unknown export format"):
        report.problems_file("pdf")
