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

from atlas_core.results import LONG_COLUMNS

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
    assert tuple(long.columns) == LONG_COLUMNS
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
