"""The Results page under AppTest with Atlas's NaN and Infinity, and rows older versions stored."""

from __future__ import annotations

import sqlite3

import pytest
from test_pages_support import (
    finish_processing,
    ledger_of,
    open_app,
    released_runtimes,  # noqa: F401 (a fixture, for pytestmark)
    sheet_csv,
    submit_sheet,
    texts,
)

IDS = ["N1", "N2", "N3"]

pytestmark = pytest.mark.usefixtures("released_runtimes")


@pytest.fixture
def with_nan(tmp_path, monkeypatch):
    """An app whose one upload finished while Atlas sent NaN and Infinity, on the Results page."""
    at = open_app(tmp_path, monkeypatch, behaviour={"nan_in_file_data": True})
    submit_sheet(at, sheet_csv(IDS))
    finish_processing(at, ledger_of(tmp_path), 1, len(IDS))
    at.switch_page("app_pages/results.py").run()
    at.selectbox(key="results_upload").select_index(1).run()
    return at


def assert_page_whole(at) -> None:
    """No exception, no 'could not be read', every document listed and the charts drawn."""
    assert at.exception == []
    assert "could not be read" not in texts(at)
    assert f"Documents ({len(IDS)})" in texts(at, "subheader")
    assert sorted(at.dataframe[0].value["document_id"]) == IDS
    assert "No extracted fields yet." not in texts(at, "caption")


def test_nan_and_infinity_from_atlas_break_no_view(with_nan):
    at = with_nan
    assert_page_whole(at)
    raw = at.json[0].value
    assert "NaN" in raw and "Infinity" in raw  # shown as the text Atlas sent
    at.selectbox(key="results_upload").select_index(0).run()  # every upload: the same rows
    assert_page_whole(at)


def test_rows_an_older_version_stored_as_non_standard_json_break_no_view(with_nan, tmp_path):
    at = with_nan
    with sqlite3.connect(tmp_path / "atlas.db") as db:
        first, second = [r[0] for r in db.execute("SELECT id FROM documents ORDER BY id LIMIT 2")]
        db.execute("UPDATE documents SET file_data = ? WHERE id = ?",
                   ['{"document_type": "PAN", "name": {"value": "A", "confidence_score": NaN}}',
                    first])
        db.execute("UPDATE documents SET file_data = ? WHERE id = ?", ['{"name": {"val', second])
    at.run()
    assert_page_whole(at)
    for label in at.selectbox(key="results_document").options:
        at.selectbox(key="results_document").set_value(label).run()
        assert at.exception == [] and "could not be read" not in texts(at)
