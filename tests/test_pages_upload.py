"""The Upload page under AppTest: reading, column detection, the report, fixing in place, sending."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from test_pages_support import (
    Downloads,
    ledger_of,
    open_app,
    released_runtimes,  # noqa: F401 (a fixture, for pytestmark)
    sheet_csv,
    submit_sheet,
    texts,
    wait_until,
)

pytestmark = pytest.mark.usefixtures("released_runtimes")


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def choose_file(at, data: bytes, name: str = "docs.csv", mime: str = "text/csv"):
    at.file_uploader[0].set_value((name, data, mime))
    return at.run()


def test_template_download_is_a_sheet_the_page_accepts(tmp_path, monkeypatch):
    downloads = Downloads(monkeypatch)
    at = open_app(tmp_path, monkeypatch, "Upload")
    template = downloads.data(at, "download_template")
    choose_file(at, template, "atlas-upload-template.csv")
    assert metrics(at) == {
        "Rows": "2",
        "Ready to send": "2",
        "With errors (left out)": "0",
        "With warnings": "0",
    }
    assert at.selectbox(key="url_column").value == "file_url"
    assert at.selectbox(key="id_column").value == "document_id"


def test_problem_rows_are_counted_listed_and_filterable(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, "Upload")
    data = sheet_csv(["A1", "A2", "A3", "A4"], bad_rows={"A2": "not-a-link", "A4": ""})
    choose_file(at, data)
    assert metrics(at) == {
        "Rows": "4",
        "Ready to send": "2",
        "With errors (left out)": "2",
        "With warnings": "0",
    }
    problems = at.dataframe[0].value
    assert sorted(problems["code"]) == ["URL_MISSING", "URL_NOT_HTTP"]
    assert sorted(problems["row"]) == [3, 5]  # spreadsheet row numbers, header is row 1
    at.multiselect(key="problem_filter").set_value(["URL_MISSING"]).run()
    assert list(at.dataframe[0].value["code"]) == ["URL_MISSING"]


def test_problems_file_holds_the_original_rows_and_their_problems(tmp_path, monkeypatch):
    downloads = Downloads(monkeypatch)
    at = open_app(tmp_path, monkeypatch, "Upload")
    choose_file(at, sheet_csv(["A1", "A2"], bad_rows={"A2": "ftp://old-server/a.jpg"}))
    frame = pd.read_csv(
        io.BytesIO(downloads.data(at, "download_problems_csv")), encoding="utf-8-sig"
    )
    assert list(frame["document_id"]) == ["A1", "A2"]
    assert frame.loc[1, "problems"].count("URL_NOT_HTTP") == 1
    assert pd.isna(frame.loc[0, "problems"]) or frame.loc[0, "problems"] == ""


def test_columns_can_be_chosen_when_names_are_unusual(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, "Upload")
    data = b"ref,link,notes\nR1,https://b.s3.amazonaws.com/1.jpg,x\nR2,https://b.s3.amazonaws.com/2.jpg,y\n"
    choose_file(at, data)
    assert at.selectbox(key="url_column").value == "link"
    at.selectbox(key="id_column").set_value("notes").run()
    assert metrics(at)["Ready to send"] == "2"
    at.selectbox(key="id_column").set_value("link").run()  # the same column twice is refused
    assert at.exception == []
    assert "same column" in texts(at, "error")


@pytest.mark.parametrize(
    "name, data, expected",
    [
        ("empty.csv", b"", "The file is empty."),
        ("broken.xlsx", b"PK\x03\x04 not really a workbook", "xlsx"),
    ],
)
def test_unreadable_files_get_a_sentence(tmp_path, monkeypatch, name, data, expected):
    at = open_app(tmp_path, monkeypatch, "Upload")
    choose_file(at, data, name)
    assert at.exception == []
    assert at.error and expected.lower() in at.error[0].value.lower()


def test_fixing_a_cell_in_place_and_rechecking_makes_the_row_valid(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, "Upload")
    choose_file(at, sheet_csv(["A1", "A2", "A3"], bad_rows={"A2": "not-a-link"}))
    editor = at.data_editor[0]
    assert list(editor.value["Row"]) == [3]
    at.session_state[editor.key] = {
        "edited_rows": {0: {"file_url": "https://bucket.s3.amazonaws.com/A2.jpg"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.button(key="revalidate").click().run()
    assert metrics(at) == {
        "Rows": "3",
        "Ready to send": "3",
        "With errors (left out)": "0",
        "With warnings": "0",
    }
    assert at.data_editor == []  # nothing left to fix


def test_review_asks_for_a_name_before_planning(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, "Upload")
    choose_file(at, sheet_csv(["A1"]))
    at.button(key="review").click().run()
    assert "Type your name" in texts(at, "warning")
    assert "confirm_send" not in [b.key for b in at.button]


def test_confirmation_shows_counts_and_sending_queues_the_upload(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, "Upload")
    choose_file(at, sheet_csv(["A1", "A2", "A3", "A4"], bad_rows={"A4": "nope"}))
    at.text_input(key="submitter_input").input("Asha Rao").run()
    at.button(key="review").click().run()
    assert "3 document(s) will be sent in 1 request(s); 1 invalid row(s) left out." in texts(
        at, "markdown"
    )
    assert at.button(key="confirm_send").label == "Send 3 documents"
    at.button(key="confirm_send").click().run()
    ledger = ledger_of(tmp_path)
    uploads, total = ledger.list_uploads()
    assert total == 1
    assert (uploads[0]["submitted_by"], uploads[0]["documents"], uploads[0]["rows_invalid"]) == (
        "Asha Rao",
        3,
        1,
    )
    assert at.file_uploader[0].value is None  # a fresh uploader for the next file
    assert "Your last upload" in texts(at, "subheader")
    wait_until(
        lambda: ledger.upload(uploads[0]["id"])["queued"] == 0, "the worker to send the upload"
    )


def test_the_typed_name_is_remembered_across_pages(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, "Upload")
    choose_file(at, sheet_csv(["A1"]))
    at.text_input(key="submitter_input").input("Vikram").run()
    at.switch_page("app_pages/results.py").run()
    at.switch_page("app_pages/upload.py").run()
    choose_file(at, sheet_csv(["A1"]))
    assert at.text_input(key="submitter_input").value == "Vikram"


def test_already_submitted_ids_are_skipped_on_a_second_upload(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch)
    submit_sheet(at, sheet_csv(["A1", "A2"]))
    choose_file(at, sheet_csv(["A1", "A2", "A3"]), "again.csv")
    assert "ID_IN_LEDGER" in set(at.dataframe[0].value["code"])
    at.button(key="review").click().run()
    assert (
        "1 document(s) will be sent in 1 request(s); 2 already submitted will be skipped."
        in texts(at, "markdown")
    )


def test_a_pilot_sends_the_first_rows_and_holds_the_rest(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, "Upload")
    choose_file(at, sheet_csv([f"P{i}" for i in range(10)]))
    at.text_input(key="submitter_input").input("Asha").run()
    at.checkbox(key="pilot_on").check().run()
    at.number_input(key="pilot_rows").set_value(3).run()
    at.button(key="review").click().run()
    assert "3 document(s) will be sent in 1 request(s); 7 held back by the pilot." in texts(
        at, "markdown"
    )
    at.button(key="confirm_send").click().run()
    upload = ledger_of(tmp_path).list_uploads()[0][0]
    assert (upload["documents"], upload["rows_held"]) == (3, 7)
    assert "7 rows are held back by the pilot" in texts(at, "info")


def workbook(sheets: dict[str, list[list[str]]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_a_workbook_with_several_sheets_offers_a_sheet_picker(tmp_path, monkeypatch):
    header = ["document_id", "file_url"]
    data = workbook(
        {
            "Notes": [["read me"], ["nothing to send here"]],
            "March": [
                header,
                *([f"M{i}", f"https://b.s3.amazonaws.com/M{i}.jpg"] for i in range(3)),
            ],
            "April": [
                header,
                *([f"A{i}", f"https://b.s3.amazonaws.com/A{i}.jpg"] for i in range(5)),
            ],
        }
    )
    at = open_app(tmp_path, monkeypatch, "Upload")
    choose_file(
        at, data, "months.xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert at.selectbox(key="sheet_name").options == ["Notes", "March", "April"]
    at.selectbox(key="sheet_name").set_value("April").run()
    assert metrics(at)["Rows"] == "5"
    assert at.exception == []
    at.selectbox(key="sheet_name").set_value("March").run()
    assert metrics(at)["Rows"] == "3"
