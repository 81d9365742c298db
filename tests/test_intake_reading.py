"""read_spreadsheet on the corpus: encodings, delimiters, workbooks, header rows and unreadable files."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from atlas_core.errors import IntakeError
from atlas_core.intake import list_sheets, read_spreadsheet
from atlas_core.intake.excel import cell_text

CORPUS = Path(__file__).parent / "corpus"
EXPECTED_IDS = ["00123", "00124", "A-77", "R/2025/9"]


@pytest.mark.parametrize(
    ("name", "encoding", "delimiter"),
    [
        ("utf8_comma.csv", "utf-8", ","),
        ("utf8_bom_semicolon.csv", "utf-8-sig", ";"),
        ("utf16_tab.tsv", "utf-16", "\t"),
        ("cp1252_pipe.csv", "cp1252", "|"),
    ],
)
def test_text_files_read_with_their_encoding_and_delimiter(name, encoding, delimiter):
    sheet = read_spreadsheet(CORPUS / name)
    assert sheet.encoding == encoding
    assert sheet.delimiter == delimiter
    assert sheet.columns == ["document_id", "file_url", "customer"]
    assert sheet.frame["document_id"].tolist() == EXPECTED_IDS
    assert set(sheet.frame["customer"]) == {"Zoë Ñandú"}
    assert sheet.row_numbers.tolist() == [2, 3, 4, 5]


@pytest.mark.parametrize("name", ["utf8_comma.csv", "utf8_bom_semicolon.csv", "utf16_tab.tsv"])
def test_unicode_files_carry_no_legacy_note(name):
    assert read_spreadsheet(CORPUS / name).notes == ()


def test_legacy_encoding_is_read_with_a_note():
    sheet = read_spreadsheet(CORPUS / "cp1252_pipe.csv")
    assert len(sheet.notes) == 1
    assert "Windows-1252" in sheet.notes[0]


def test_title_rows_blank_rows_and_blank_columns():
    sheet = read_spreadsheet(CORPUS / "title_rows.csv")
    assert sheet.header_row == 4
    assert sheet.columns == ["Doc ID", "S3 URL", "Customer"]  # the blank column B is gone
    assert sheet.frame["Doc ID"].tolist() == ["00123", "00124", "A-77"]
    assert sheet.row_numbers.tolist() == [5, 7, 8]  # as Excel numbers them, blank row 6 skipped


def test_rows_of_different_widths_are_read():
    sheet = read_spreadsheet(CORPUS / "ragged_title.csv")
    assert sheet.header_row == 2
    assert sheet.frame["id"].tolist() == ["7", "8"]
    assert sheet.row_numbers.tolist() == [3, 4]


def test_quoted_line_breaks_keep_spreadsheet_row_numbers():
    data = b'id,url,note\n1,https://x.example/1.jpg,"two\nlines"\n2,https://x.example/2.jpg,ok\n'
    sheet = read_spreadsheet(data, filename="multi.csv")
    assert sheet.frame["note"].tolist() == ["two\nlines", "ok"]
    assert sheet.row_numbers.tolist() == [2, 3]


@pytest.mark.parametrize("text", ["NA", "null", "None", "nan", "N/A", "#N/A", "0"])
def test_cells_that_look_like_missing_values_stay_text(text):
    sheet = read_spreadsheet(
        f"id,url\n{text},https://x.example/a.jpg\n".encode(), filename="na.csv"
    )
    assert sheet.frame["id"].tolist() == [text]


def test_utf16_without_bom_is_recognised():
    data = "id,url\n7,https://x.example/7.jpg\n".encode("utf-16-le")
    sheet = read_spreadsheet(data, filename="nobom.csv")
    assert sheet.encoding == "utf-16-le"
    assert sheet.frame["id"].tolist() == ["7"]


@pytest.mark.parametrize("suffix", ["xlsx", "xlsm"])
def test_workbook_cells_become_text(suffix):
    sheet = read_spreadsheet(CORPUS / f"numbers_and_sheets.{suffix}")
    assert sheet.file_format == suffix
    assert sheet.sheet_name == "Documents"  # the sheet with links, not the notes sheet before it
    assert sheet.sheet_names == ("Notes", "Documents")
    assert sheet.header_row == 4
    assert sheet.row_numbers.tolist() == [5, 6, 7, 8, 10]
    frame = sheet.frame
    assert frame["Document ID"].tolist()[:2] == ["1024", "00077"]
    assert frame["Document ID"].tolist()[3:] == ["4.5", "A-9"]
    assert frame["Received"].tolist()[:2] == ["2025-11-03 09:30:00", "2025-11-04"]
    assert frame["Checked"].tolist()[:2] == ["TRUE", "FALSE"]
    assert frame["Amount"].tolist()[:2] == ["12.5", "3"]
    assert sheet.mangled_numbers == {"Document ID": frozenset({7})}


def test_sheet_can_be_chosen_and_listed():
    path = CORPUS / "numbers_and_sheets.xlsx"
    assert list_sheets(path) == ["Notes", "Documents"]
    assert list_sheets(CORPUS / "utf8_comma.csv") == []
    with pytest.raises(IntakeError, match="no data rows"):
        read_spreadsheet(path, sheet="Notes")
    with pytest.raises(IntakeError) as caught:
        read_spreadsheet(path, sheet="Sheet9")
    assert "'Notes', 'Documents'" in caught.value.user_message()


@pytest.mark.parametrize(
    ("name", "file_format", "ids"),
    [("documents.ods", "ods", ["2048", "0099"]), ("documents.xls", "xls", ["512", "0042"])],
)
def test_ods_and_xls(name, file_format, ids):
    sheet = read_spreadsheet(CORPUS / name)
    assert sheet.file_format == file_format
    assert sheet.frame.iloc[:, 0].tolist() == ids


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1024.0, "1024"),
        (-3.0, "-3"),
        (0.1, "0.1"),
        (True, "TRUE"),
        (None, ""),
        ("007", "007"),
    ],
)
def test_cell_text(value, text):
    assert cell_text(value) == text


def test_every_kind_of_source_gives_the_same_sheet_and_hash():
    path = CORPUS / "utf8_comma.csv"
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    stream = io.BytesIO(data)
    stream.name = "upload.csv"
    for source, name in ((path, "utf8_comma.csv"), (data, None), (stream, "upload.csv")):
        sheet = read_spreadsheet(source)
        assert sheet.sha256 == digest
        assert sheet.size_bytes == len(data)
        assert sheet.filename == name
        assert sheet.frame["document_id"].tolist() == EXPECTED_IDS


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("empty.csv", "empty"),
        ("header_only.csv", "no data rows"),
        ("blank_only.csv", "every cell is empty"),
        ("binary_renamed.csv", "binary data"),
        ("png_renamed.csv", "PNG image"),
        ("corrupt.xlsx", "damaged"),
        ("password_protected.xlsx", "password-protected (encrypted)"),
        ("zip_bomb.xlsx", "would unpack to"),
        ("zip_renamed.xlsx", "zip archive"),
        ("too_many_columns.csv", "600 columns"),
    ],
)
def test_unreadable_files_raise_one_plain_sentence(name, words):
    with pytest.raises(IntakeError) as caught:
        read_spreadsheet(CORPUS / name)
    message = caught.value.user_message()
    assert words in message
    assert "Traceback" not in message and "\n" not in message
    assert caught.value.hint  # always a next step


def test_file_over_the_size_limit():
    with pytest.raises(IntakeError, match="larger than the"):
        read_spreadsheet(CORPUS / "codes.csv", max_bytes=1000)
    with pytest.raises(IntakeError, match="larger than the"):
        read_spreadsheet((CORPUS / "codes.csv").read_bytes(), filename="codes.csv", max_bytes=1000)


def test_file_over_the_row_limit():
    with pytest.raises(IntakeError, match="23 rows; at most 10"):
        read_spreadsheet(CORPUS / "codes.csv", max_rows=10)
    assert len(read_spreadsheet(CORPUS / "codes.csv", max_rows=23)) == 23


def test_missing_path_is_an_intake_error(tmp_path):
    with pytest.raises(IntakeError, match="cannot be opened"):
        read_spreadsheet(tmp_path / "nope.csv")


def test_blank_header_cells_are_named_by_column_letter_and_duplicates_numbered():
    sheet = read_spreadsheet(b"id,,url,url\n1,x,https://a.example/1.jpg,y\n", filename="h.csv")
    assert sheet.columns == ["id", "column B", "url", "url (2)"]


@pytest.mark.parametrize(
    "data",
    [
        b"<!DOCTYPE html><html><table><tr><td>id</td></tr></table>",
        b"\n <table><tr><td>x</td></tr>",
        b"<?xml version='1.0'?><Workbook/>",
    ],
)
def test_web_pages_saved_as_spreadsheets_are_refused(data):
    with pytest.raises(IntakeError, match="web page or XML"):
        read_spreadsheet(data, filename="export.xls")


@pytest.mark.parametrize(
    ("name", "skipped"),
    [("title_rows.csv", 1), ("numbers_and_sheets.xlsx", 1), ("utf8_comma.csv", 0)],
)
def test_skipped_empty_rows_are_mentioned(name, skipped):
    notes = [n for n in read_spreadsheet(CORPUS / name).notes if "empty row" in n]
    assert notes == ([f"{skipped} empty row(s) between the data were skipped."] if skipped else [])


def test_workbook_text_keeps_every_character_and_every_cell_in_its_row(tmp_path):
    # Columns of plain ASCII, of non-ASCII text, and of text, numbers, dates and booleans mixed
    # in one column: each value comes back as the person sees it, in its own row.
    import datetime as dt

    from openpyxl import Workbook

    names = ["Zoë", "राहुल", "plain", "😀 emoji", "", "ß"] * 50
    mixed = ["A-1", 1024, 4.5, dt.datetime(2025, 11, 3), True, "Ünïcode", 1234567890123456, None]
    mixed = (mixed * 40)[: len(names)]
    book = Workbook()
    sheet = book.active
    sheet.append(["document_id", "file_url", "name", "mixed"])
    for i, (name, value) in enumerate(zip(names, mixed, strict=True)):
        sheet.append([f"D{i}", f"https://x.example/{i}.jpg", name or None, value])
    path = tmp_path / "unicode.xlsx"
    book.save(path)
    frame = read_spreadsheet(path).frame
    expected_mixed = {
        "A-1": "A-1", 1024: "1024", 4.5: "4.5", True: "TRUE", "Ünïcode": "Ünïcode",
        1234567890123456: "1234567890123456", None: "",
    }  # fmt: skip
    assert frame["name"].tolist() == names
    assert frame["file_url"].tolist() == [f"https://x.example/{i}.jpg" for i in range(len(names))]
    assert frame["mixed"].tolist() == [
        "2025-11-03" if isinstance(v, dt.datetime) else expected_mixed[v] for v in mixed
    ]
