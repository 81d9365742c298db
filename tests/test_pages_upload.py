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


def grid(at) -> pd.DataFrame:
    """The one table of problems and fixes."""
    return at.data_editor[0].value


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
    problems = grid(at)
    assert list(problems["Row"]) == ["3", "5"]  # spreadsheet row numbers, header is row 1
    assert list(problems["Kind"]) == ["Not a web link", "No link"]
    filter_ = at.multiselect[0]
    assert filter_.options == ["No link", "Not a web link"]  # in words, in the checks' order
    filter_.set_value(["No link"]).run()
    assert list(grid(at)["Row"]) == ["5"]


def test_problems_file_holds_the_original_rows_and_their_problems(tmp_path, monkeypatch):
    downloads = Downloads(monkeypatch)
    at = open_app(tmp_path, monkeypatch, "Upload")
    choose_file(at, sheet_csv(["A1", "A2"], bad_rows={"A2": "ftp://old-server/a.jpg"}))
    frame = pd.read_csv(
        io.BytesIO(downloads.data(at, "download_problems_csv")), encoding="utf-8-sig"
    )
    # The problem rows first, each with its row number in the analyst's sheet.
    assert list(frame["row"]) == [3, 2]
    assert list(frame["document_id"]) == ["A2", "A1"]
    assert frame.loc[0, "problems"].count("URL_NOT_HTTP") == 1
    assert pd.isna(frame.loc[1, "problems"]) or frame.loc[1, "problems"] == ""


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
    assert list(editor.value["Row"]) == ["3"]
    assert list(editor.value.columns[:2]) == ["Row", "What to do"]
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
    assert list(grid(at)["What to do"]) == [
        "2 IDs were already sent to Atlas in upload 1; they are skipped unless you "
        "send them again."
    ]
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


def loan_sheet(rows: int = 5, *, with_ref: bool = True) -> bytes:
    """The analyst's sheet of issue 12: a serial number first, the reference second."""
    header = ["Sr No", "Applicant Ref", "KYC Doc Link", "Branch"]
    if not with_ref:
        header.remove("Applicant Ref")
    lines = [",".join(header)]
    for i in range(1, rows + 1):
        cells = [str(i), f"APP-{900 + i}", f"https://bucket.s3.amazonaws.com/kyc/{i}.jpg", "Pune"]
        if not with_ref:
            del cells[1]
        lines.append(",".join(cells))
    return ("\n".join(lines) + "\n").encode()


def test_a_reference_column_is_taken_over_a_serial_number(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, "Upload")
    choose_file(at, loan_sheet())
    assert at.selectbox(key="id_column").value == "Applicant Ref"
    assert at.selectbox(key="url_column").value == "KYC Doc Link"
    assert "Found because its header 'Applicant Ref' reads like a document reference" in texts(
        at, "caption"
    )
    assert at.checkbox == [] or "confirm_columns" not in " ".join(c.key for c in at.checkbox)


def test_a_guessed_column_must_be_confirmed_before_send_unlocks(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, "Upload")
    choose_file(at, loan_sheet(with_ref=False))
    assert at.selectbox(key="id_column").value == "Sr No"
    assert "Guessed from the cells" in texts(at, "warning") and "serial number" in texts(
        at, "warning"
    )
    at.text_input(key="submitter_input").input("Asha").run()
    assert at.button(key="review").disabled
    confirm = next(c for c in at.checkbox if c.key.startswith("confirm_columns_"))
    confirm.check().run()
    assert not at.button(key="review").disabled
    at.button(key="review").click().run()
    assert not at.button(key="confirm_send").disabled
    # Another column is the analyst's own choice: nothing left to confirm.
    at.selectbox(key="id_column").set_value("Branch").run()
    assert not [c for c in at.checkbox if c.key.startswith("confirm_columns_")]
    # The plan was for the other column: it is gone, to be reviewed again.
    assert "confirm_send" not in [b.key for b in at.button]


def test_the_filter_resets_when_the_problems_change(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, "Upload")
    data = (
        b"ref,alt,file_url\nR1,X1,not-a-link\nR2,X1,https://bucket.s3.amazonaws.com/2.jpg\nR3,,\n"
    )
    choose_file(at, data)
    at.multiselect[0].set_value(["No link"]).run()
    assert list(grid(at)["Row"]) == ["4"]
    at.selectbox(key="id_column").set_value("alt").run()
    # A new set of problems: every kind is shown again, and the table lists every row in error.
    assert at.multiselect[0].value == at.multiselect[0].options
    assert metrics(at)["With errors (left out)"] == "3"
    assert list(grid(at)["Row"]) == ["2", "3", "4"]


def test_warnings_of_one_kind_are_one_line_with_a_count_after_the_errors(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, "Upload")
    ids = [f"D{i}" for i in range(6)]
    bad = {f"D{i}": f"https://bucket.s3.amazonaws.com/{i}.docx" for i in range(1, 5)}
    bad["D5"] = "http://localhost:9000/scan.jpg"
    choose_file(at, sheet_csv(ids, bad_rows=bad))
    table = grid(at)
    assert list(table["Row"]) == ["7", "4 rows"]  # blanks and counts, never "None"
    assert table["What to do"].iloc[1] == (
        "4 links point to files that are not images or PDFs; check they are the documents."
    )
    assert "private address" in table["Kind"].iloc[0]


def test_the_page_speaks_in_words_not_codes(tmp_path, monkeypatch):
    from atlas_core.intake import ERROR_CODES, WARNING_CODES

    at = open_app(tmp_path, monkeypatch, "Upload")
    bad = {
        "A2": "not a url",
        "A3": "ftp://x/y.jpg",
        "A4": "",
        "A5": "https://b.s3.amazonaws.com/x.txt",
    }
    choose_file(at, sheet_csv(["A1", "A2", "A3", "A4", "A5", "A5"], bad_rows=bad))
    shown = [texts(at), " ".join(at.multiselect[0].options)]
    shown += [grid(at).to_csv(index=False)]
    for code in ERROR_CODES + WARNING_CODES:
        assert all(code not in text for text in shown), code
    # "not a url" is told it is not a link, not how to write its spaces.
    row = grid(at).set_index("Row").loc["3"]
    assert "not a web link" in row["What to do"] and "%20" not in row["What to do"]


def test_problems_and_fixes_are_one_table_with_the_sheets_own_columns(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, "Upload")
    data = (
        b"customer_name,branch,document_id,file_url\n"
        b"Asha Rao,Pune,A1,https://bucket.s3.amazonaws.com/1.jpg\n"
        b"Ravi Kumar,Nagpur,A2,https://bucket.s3.amazonaws.com/my scan.jpg\n"
    )
    choose_file(at, data)
    assert len(at.dataframe) == 1  # (data editors count among dataframes)
    table = grid(at)
    assert list(table.columns) == [
        "Row", "What to do", "customer_name", "branch", "document_id", "file_url", "Kind",
    ]  # fmt: skip
    assert table.loc[0, ["customer_name", "branch"]].tolist() == ["Ravi Kumar", "Nagpur"]


def test_an_exact_repeated_row_is_sent_once(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, "Upload")
    choose_file(at, sheet_csv(["A1", "A2", "A2"]))
    assert metrics(at)["Ready to send"] == "2"
    assert "1 row repeats an earlier row exactly" in grid(at)["What to do"].iloc[0]
    at.text_input(key="submitter_input").input("Asha").run()
    at.button(key="review").click().run()
    assert at.button(key="confirm_send").label == "Send 2 documents"


def test_a_fixed_mangled_id_loses_its_excel_flag(tmp_path, monkeypatch):
    data = workbook({"docs": [["document_id", "file_url"]]})
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(data))
    sheet = book["docs"]
    sheet.append([1234567890123456789, "https://bucket.s3.amazonaws.com/1.jpg"])
    sheet.append(["A2", "https://bucket.s3.amazonaws.com/2.jpg"])
    buffer = io.BytesIO()
    book.save(buffer)
    at = open_app(tmp_path, monkeypatch, "Upload")
    choose_file(at, buffer.getvalue(), "ids.xlsx", XLSX)
    assert "Excel" in grid(at)["What to do"].iloc[0]
    editor = at.data_editor[0]
    at.session_state[editor.key] = {
        "edited_rows": {0: {"document_id": "1234567890123456789"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    at.button(key="revalidate").click().run()
    assert metrics(at)["With errors (left out)"] == "0"


def test_the_excel_template_keeps_ids_as_text_and_the_page_accepts_it(tmp_path, monkeypatch):
    import openpyxl

    downloads = Downloads(monkeypatch)
    at = open_app(tmp_path, monkeypatch, "Upload")
    data = downloads.data(at, "download_template_xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert [c.value for c in sheet[1]] == ["document_id", "file_url", "customer_name"]
    assert all(sheet.cell(row=r, column=1).number_format == "@" for r in (2, 3, 500))
    choose_file(at, data, "atlas-upload-template.xlsx", XLSX)
    assert metrics(at)["Ready to send"] == "2"
    assert at.selectbox(key="id_column").value == "document_id"


def test_the_typed_name_survives_swapping_the_file(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, "Upload")
    choose_file(at, sheet_csv(["A1"]))
    at.text_input(key="submitter_input").input("Vikram").run()
    at.file_uploader[0].set_value(None).run()  # the analyst removes the file ...
    choose_file(at, sheet_csv(["B1", "B2"]), "other.csv")  # ... and picks another
    assert at.text_input(key="submitter_input").value == "Vikram"
    choose_file(at, sheet_csv(["C1"]), "third.csv")  # or picks another straight away
    assert at.text_input(key="submitter_input").value == "Vikram"


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
