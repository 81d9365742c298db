"""The Batches page at scale under AppTest: a compact uploads table, its filters, search to the top.

The ledger holds a working day (tests/scale_support.py): four uploads by three people, one of
1,200 documents, one with an uncertain request whose stored error is the client's raw text.
"""

from __future__ import annotations

import pytest
from scale_support import RAW_ERROR, UPLOADS, doc_id, fill_day
from test_pages_support import PAGES, badges, open_app, released_runtimes, texts  # noqa: F401

from ui import charts

pytestmark = pytest.mark.usefixtures("released_runtimes")


def batches_page(tmp_path, monkeypatch):
    """The Batches page over a day's ledger (filled before the dashboard opens it)."""
    fill_day(tmp_path / "atlas.db", queued_upload=0).close()
    return open_app(tmp_path, monkeypatch, page="Batches")


def uploads_table(at):
    """The compact uploads table (the one keyed uploads_table) as a DataFrame."""
    return next(d for d in at.dataframe if d.proto.id and "uploads_table" in d.proto.id).value


def batch_tables(at):
    """The batch tables on the page, top to bottom, as DataFrames."""
    return [d.value for d in at.dataframe if "Batch" in d.value.columns]


def test_uploads_are_one_compact_table_with_state_balance_who_and_when(tmp_path, monkeypatch):
    at = batches_page(tmp_path, monkeypatch)
    table = uploads_table(at)
    assert list(table["Upload"]) == [4, 3, 2, 1]
    assert list(table.columns)[:4] == ["Upload", "File", "State", "Needs"]
    assert {"Progress", "Documents", "Extracted", "Failed", "Waiting", "Submitted by", "When (UTC)"} <= set(
        table.columns
    )
    assert list(table["Submitted by"]) == ["Meena", "Asha", "Ravi", "Asha"]
    assert table.loc[table["Upload"] == 2, "Documents"].item() == 1_200
    assert "Decide on 1 request(s)" in table.loc[table["Upload"] == 3, "Needs"].item()
    assert not table.isna().any().any()  # blanks, never None
    assert "None" not in table.astype(str).to_numpy().ravel().tolist()
    assert badges(at) == []  # no card per upload until one is opened
    assert "drop_" not in " ".join(str(b.key) for b in at.button)


def test_counts_are_drawn_with_thousands_separators(tmp_path, monkeypatch):
    at = batches_page(tmp_path, monkeypatch)
    at.selectbox(key="uploads_table_open").set_value("Upload 2 · branch-south.xlsx").run()
    for frame in at.dataframe:
        columns = frame.proto.columns
        assert '"Documents"' in columns and '"localized"' in columns, columns
    assert "1,200 documents" in texts(at, "caption")


def test_filters_by_file_submitter_and_date(tmp_path, monkeypatch):
    at = batches_page(tmp_path, monkeypatch)
    at.text_input(key="uploads_file").input("SOUTH").run()
    assert list(uploads_table(at)["Upload"]) == [2]
    at.text_input(key="uploads_file").input("").run()
    at.selectbox(key="uploads_who").set_value("Asha").run()
    assert list(uploads_table(at)["Upload"]) == [3, 1]
    assert at.selectbox(key="uploads_who").options == ["Anyone", "Asha", "Meena", "Ravi"]
    import datetime as dt

    at.date_input(key="uploads_days").set_value((dt.date(2020, 1, 1), dt.date(2020, 1, 2))).run()
    assert "No upload matches these filters." in texts(at, "caption")


def test_opening_an_upload_shows_its_card_and_its_own_batches(tmp_path, monkeypatch):
    at = batches_page(tmp_path, monkeypatch)
    at.selectbox(key="uploads_table_open").set_value("Upload 1 · branch-north.csv").run()
    assert "submitted by Asha" in texts(at, "caption")
    own = batch_tables(at)[0]
    assert set(own["Upload"]) == {"1 · branch-north.csv"}
    assert len(own) == UPLOADS[0][2] // 10


def test_searching_a_document_id_shows_its_upload_at_the_top(tmp_path, monkeypatch):
    at = batches_page(tmp_path, monkeypatch)
    at.text_input(key="batch_search").input(doc_id(2, 123)).run()
    markdown = [m.value for m in at.markdown]
    assert markdown[0].startswith("**Found in upload 2**"), markdown[:3]
    found = batch_tables(at)[0]  # the opened upload shows only the batch holding it
    assert len(found) == 1 and found["Batch"].item().startswith("BATCH-2-")
    at.text_input(key="batch_search").input(found["Batch"].item()).run()
    assert [m.value for m in at.markdown][0].startswith("**Found in upload 2**")
    at.text_input(key="batch_search").input("NO-SUCH-ID").run()
    assert "No upload holds a document or batch with that ID." in texts(at, "info")


def test_the_uncertain_request_is_numbered_in_its_upload_and_told_in_plain_words(
    tmp_path, monkeypatch
):
    at = batches_page(tmp_path, monkeypatch)
    at.selectbox(key="uploads_table_open").set_value("Upload 3 · pilot-east.csv").run()
    shown = texts(at)
    assert "Request 3 of 3: 10 documents" in shown
    assert "The connection to Atlas broke after the documents were sent" in shown
    assert "POST" not in shown and "/v1/" not in shown and RAW_ERROR not in shown


def test_the_per_minute_chart_shows_a_small_upload_beside_a_large_one():
    spec = charts.finished_chart(
        charts.finished_frame(
            [{"bucket": 600, "extracted": 2_000, "failed": 3}], since=0, bucket_seconds=60, now=900
        )
    ).to_dict()
    assert spec["encoding"]["y"]["scale"]["type"] == "symlog"
    assert spec["encoding"]["xOffset"]["field"] == "result"  # side by side, not stacked
    assert spec["encoding"]["y"]["axis"]["format"] == ",d"
