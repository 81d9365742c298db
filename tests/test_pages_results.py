"""The Results page under AppTest: filters, highlighting, one document's detail and every download."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from report_support import read_report
from test_pages_support import (
    Downloads,
    finish_processing,
    ledger_of,
    open_app,
    released_runtimes,  # noqa: F401 (a fixture, for pytestmark)
    sheet_csv,
    submit_sheet,
    texts,
)

IDS = [f"D{i}" for i in range(8)]

pytestmark = pytest.mark.usefixtures("released_runtimes")


@pytest.fixture
def processed(tmp_path, monkeypatch):
    """An app whose one upload of 8 documents has finished (some failed), on the Results page."""
    downloads = Downloads(monkeypatch)
    at = open_app(tmp_path, monkeypatch, behaviour={"fail_rate": 0.3, "seed": 3})
    submit_sheet(at, sheet_csv(IDS))
    ledger = ledger_of(tmp_path)
    row = finish_processing(at, ledger, 1, len(IDS))
    assert 0 < row["failed"] < len(IDS), "the sandbox's fail_rate should fail some, not all"
    at.switch_page("app_pages/results.py").run()
    at.selectbox(key="results_upload").select_index(1).run()
    return at, ledger, downloads, row


def csv_frame(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)


def test_documents_table_has_flattened_fields(processed):
    at, ledger, _, row = processed
    assert at.exception == []
    assert f"Documents ({len(IDS)})" in texts(at, "subheader")
    table = at.dataframe[0].value
    assert sorted(table["document_id"]) == sorted(IDS)
    extracted = table[table["status"] == "extracted"]
    assert len(extracted) == row["extracted"]
    assert any(c.endswith("_confidence") for c in table.columns)
    assert (extracted["document_type"] != "").all()


@pytest.mark.parametrize("state", ["extracted", "failed"])
def test_state_filter(processed, state):
    at, _, _, row = processed
    at.selectbox(key="results_state").set_value(state).run()
    assert f"Documents ({row[state]})" in texts(at, "subheader")
    assert set(at.dataframe[0].value["status"]) == {state}


def test_needs_review_follows_the_threshold(processed):
    at, ledger, _, row = processed
    at.toggle(key="results_needs_review").set_value(True).run()
    at.slider(key="review_threshold").set_value(1.0).run()
    # Every extracted document has some field below a perfect score.
    assert f"Documents ({row['extracted']})" in texts(at, "subheader")
    at.slider(key="review_threshold").set_value(0.0).run()
    assert "Documents (0)" in texts(at, "subheader")


def test_one_document_shows_every_field_the_raw_json_and_errors(processed):
    at, ledger, _, _ = processed
    failed_label = next(
        o for o in at.selectbox(key="results_document").options if o.endswith("· failed")
    )
    extracted_label = next(
        o for o in at.selectbox(key="results_document").options if o.endswith("· extracted")
    )
    at.selectbox(key="results_document").set_value(extracted_label).run()
    doc_id = extracted_label.split(" · ")[0]
    rows, _ = ledger.documents_page(search=doc_id)
    detail = ledger.document_detail(rows[0]["id"])
    assert at.json[0].value == json.dumps(detail["file_data"])
    fields = at.dataframe[1].value
    top_level = {k for k in detail["file_data"] if k != "document_type"}
    assert top_level and top_level <= {f.split(".")[0] for f in fields["Field"]}
    at.selectbox(key="results_document").set_value(failed_label).run()
    assert "Atlas reported:" in texts(at, "error")


def test_csv_downloads_hold_every_document_of_the_upload(processed):
    at, ledger, downloads, row = processed
    wide = csv_frame(downloads.data(at, "download_csv_wide"))
    assert sorted(wide["document_id"]) == sorted(IDS)
    assert (wide["status"] == "extracted").sum() == row["extracted"]
    long = csv_frame(downloads.data(at, "download_csv_long"))
    assert list(long.columns) == [
        "document_id", "row", "status", "needs_review", "lowest_confidence", "document_type",
        "error", "corrected_fields", "field", "atlas_value", "value", "confidence", "file_url", "batch_id",
    ]
    extracted_ids = set(wide.loc[wide["status"] == "extracted", "document_id"])
    assert set(long.loc[long["field"] != "", "document_id"]) == extracted_ids


def test_json_and_xlsx_downloads(processed):
    at, _, downloads, _ = processed
    objects = json.loads(downloads.data(at, "download_json"))
    assert sorted(o["document_id"] for o in objects) == sorted(IDS)
    workbook = pd.read_excel(
        io.BytesIO(downloads.data(at, "download_xlsx")), dtype=str, engine="openpyxl"
    )
    assert sorted(workbook["document_id"]) == sorted(IDS)


def test_failed_documents_file_and_reconciliation(processed):
    at, ledger, downloads, row = processed
    failed = csv_frame(downloads.data(at, "download_failed"))
    failed_ids = {d["document_id"] for d in ledger.documents_page(upload_id=1, state="failed")[0]}
    assert set(failed["document_id"]) == failed_ids
    assert list(failed.columns) == ["document_id", "file_url", "atlas_error"]
    report = read_report(downloads.data(at, "download_reconciliation"))
    assert set(report["exceptions"]["document_id"]) == failed_ids
    assert report["sentence"] == ledger.upload_balance(1).sentence()
    assert report["counts"]["failed"] == len(failed_ids) == row["failed"]


def test_downloads_for_all_uploads_leave_out_the_per_upload_files(processed):
    at, _, _, _ = processed
    at.selectbox(key="results_upload").select_index(0).run()
    keys = [b.key for b in at.download_button]
    assert "download_csv_wide" in keys
    assert "download_failed" not in keys and "download_reconciliation" not in keys
    assert "download_sheet_xlsx" not in keys and "download_sheet_csv" not in keys
    assert "Choose an upload above to download your own sheet" in texts(at, "caption")


def test_values_from_atlas_are_never_rendered_as_markdown(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, behaviour={"hostile_rate": 1.0})
    submit_sheet(at, sheet_csv(["H1", "H2"]))
    finish_processing(at, ledger_of(tmp_path), 1, 2)
    at.switch_page("app_pages/results.py").run()
    assert at.exception == []
    markdown = texts(at, "markdown")
    assert "<script" not in markdown.lower() and "<img" not in markdown.lower()
    assert not any(m.proto.allow_html for m in at.markdown)


def test_paging_and_a_narrower_filter_never_strand_the_user_on_an_empty_page(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch)
    ids = [f"P{i:03d}" for i in range(60)]
    submit_sheet(at, sheet_csv(ids))
    finish_processing(at, ledger_of(tmp_path), 1, len(ids))
    at.switch_page("app_pages/results.py").run()
    assert len(at.dataframe[0].value) == 50
    at.number_input(key="results_page").set_value(2).run()
    second = at.dataframe[0].value
    assert len(second) == 10 and "Rows 51–60 of 60." in texts(at, "caption")
    at.text_input(key="results_search").input("P059").run()  # the newest document: on page 1
    assert list(at.dataframe[0].value["document_id"]) == ["P059"]
    assert at.session_state["results_page"] == 1


@pytest.fixture
def with_sheet(tmp_path, monkeypatch):
    """An app whose one upload (a sheet of the analyst's own columns, one bad row) has finished."""
    downloads = Downloads(monkeypatch)
    at = open_app(tmp_path, monkeypatch, behaviour={"fail_rate": 0.3, "seed": 3})
    lines = ["Applicant Ref,Branch,Document Link,Name"]
    for i in range(8):
        link = "not a link" if i == 5 else f"https://bucket.s3.amazonaws.com/S{i}.jpg"
        lines.append(f"S{i},Branch {i % 3},{link},=Person {i}")
    submit_sheet(at, ("\n".join(lines) + "\n").encode())
    ledger = ledger_of(tmp_path)
    row = finish_processing(at, ledger, 1, 7)
    at.switch_page("app_pages/results.py").run()
    at.selectbox(key="results_upload").select_index(1).run()
    return at, ledger, downloads, row


def test_my_sheet_with_results_comes_first_with_every_row_in_order(with_sheet):
    at, ledger, downloads, row = with_sheet
    keys = [b.key for b in at.download_button]
    assert keys[:2] == ["download_sheet_xlsx", "download_sheet_csv"]
    assert at.download_button(key="download_sheet_csv").proto.label == (
        "My sheet with results: 8 rows (CSV)"
    )
    sheet = csv_frame(downloads.data(at, "download_sheet_csv"))
    assert list(sheet.columns[:4]) == ["Applicant Ref", "Branch", "Document Link", "Name"]
    assert list(sheet.columns[4:9]) == [
        "status", "needs_review", "lowest_confidence", "document_type", "error",
    ]
    assert "atlas_name" in sheet.columns  # the common name column meets the sheet's "Name"
    assert list(sheet["Applicant Ref"]) == [f"S{i}" for i in range(8)]
    assert list(sheet["Name"]) == [f"'=Person {i}" for i in range(8)]  # neutralised, as sent
    assert sheet.loc[5, "status"] == "left out" and "web link" in sheet.loc[5, "error"]
    assert (sheet["status"] == "extracted").sum() == row["extracted"]
    workbook = pd.read_excel(
        io.BytesIO(downloads.data(at, "download_sheet_xlsx")), sheet_name=None, dtype=str,
        engine="openpyxl",
    )
    first = next(iter(workbook.values()))
    assert list(first["Applicant Ref"]) == [f"S{i}" for i in range(8)]


def test_downloads_honour_the_filters_and_say_so(with_sheet):
    at, ledger, downloads, row = with_sheet
    assert at.download_button(key="download_csv_wide").proto.label == (
        "Download 7 documents (CSV, one row each)"
    )
    wide = csv_frame(downloads.data(at, "download_csv_wide"))
    assert list(wide.columns[:4]) == ["Applicant Ref", "row", "Branch", "Name"]
    columns = list(wide.columns)
    assert columns[-1] == "batch_id"  # the long texts last: the file URL, other links, batch
    assert columns.index("Document Link") > columns.index("id_number") > columns.index("error")
    at.selectbox(key="results_state").set_value("extracted").run()
    label = at.download_button(key="download_csv_wide").proto.label
    assert label == f"Download {row['extracted']:,} filtered documents (CSV, one row each)"
    extracted = csv_frame(downloads.data(at, "download_csv_wide"))
    assert set(extracted["status"]) == {"extracted"} and len(extracted) == row["extracted"]
    at.selectbox(key="results_type").set_value("PAN").run()
    pan = csv_frame(downloads.data(at, "download_csv_long"))
    assert set(pan["document_type"]) <= {"PAN"}
    # the sheet download is the whole sheet whatever the filters
    assert len(csv_frame(downloads.data(at, "download_sheet_csv"))) == 8


def test_the_review_threshold_decides_needs_review_in_the_downloads(with_sheet):
    at, _, downloads, row = with_sheet
    at.slider(key="review_threshold").set_value(1.0).run()
    wide = csv_frame(downloads.data(at, "download_csv_wide"))
    assert (wide["needs_review"] == "yes").sum() == row["extracted"]
    at.slider(key="review_threshold").set_value(0.0).run()
    wide = csv_frame(downloads.data(at, "download_csv_wide"))
    assert (wide["needs_review"] == "no").sum() == row["extracted"]
    assert set(wide.loc[wide["status"] == "failed", "needs_review"]) <= {""}
