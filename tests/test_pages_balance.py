"""Each upload's balance on the Batches and Results pages under AppTest: the same sentence the
ledger, the CLI and the report give, and a warning when a row of the sheet has gone missing."""

from __future__ import annotations

import sqlite3

import pytest
from scale_support import fill_day
from test_pages_support import (  # noqa: F401 (released_runtimes: a fixture, for pytestmark)
    open_app,
    released_runtimes,
    texts,
)

from atlas_core.ledger import Ledger

pytestmark = pytest.mark.usefixtures("released_runtimes")


def day(tmp_path) -> Ledger:
    """The working day's ledger (tests/scale_support.py): four uploads, one still queued."""
    return fill_day(tmp_path / "atlas.db", queued_upload=4)


def uploads_table(at):
    """The compact uploads table as a DataFrame."""
    return next(d for d in at.dataframe if d.proto.id and "uploads_table" in d.proto.id).value


def lose_document(ledger: Ledger, upload_id: int, row_number: int) -> None:
    """Damage the ledger as a bad restore would: one document of the upload is gone."""
    conn = sqlite3.connect(ledger.path)
    with conn:
        conn.execute("DELETE FROM documents WHERE upload_id = ? AND row_number = ?",
                     [upload_id, row_number])
    conn.close()


def test_the_uploads_table_shows_each_uploads_balance(tmp_path, monkeypatch):
    ledger = day(tmp_path)
    expected = {up: b.sentence() for up, b in ledger.upload_balances([1, 2, 3, 4]).items()}
    at = open_app(tmp_path, monkeypatch, page="Batches")
    assert at.exception == []
    table = uploads_table(at)
    assert dict(zip(table["Upload"], table["Balance"], strict=True)) == expected
    assert expected[4] == "20 rows: 0 extracted, 0 failed, 0 left out, 0 missing, 20 pending"
    assert expected[3].startswith("30 rows: ") and expected[3].endswith(", 0 missing, 10 pending")


def test_an_opened_upload_says_whether_every_row_came_back(tmp_path, monkeypatch):
    ledger = day(tmp_path)
    at = open_app(tmp_path, monkeypatch, page="Batches")
    at.selectbox(key="uploads_table_open").set_value("Upload 1 · branch-north.csv").run()
    shown = texts(at, "markdown")
    assert f"**Did every row come back?** {ledger.upload_balance(1).sentence()}" in shown
    assert at.warning == [] or "no document in the ledger" not in texts(at, "warning")


def test_a_missing_row_is_shown_in_the_table_and_warned_about_on_the_card(tmp_path, monkeypatch):
    ledger = day(tmp_path)
    lose_document(ledger, 1, 5)
    at = open_app(tmp_path, monkeypatch, page="Batches")
    table = uploads_table(at)
    balance = table.loc[table["Upload"] == 1, "Balance"].item()
    assert balance == "40 rows: " + balance.split(": ", 1)[1] and ", 1 missing, " in balance
    assert "Check 1 missing or stray" in table.loc[table["Upload"] == 1, "Needs"].item()
    at.selectbox(key="uploads_table_open").set_value("Upload 1 · branch-north.csv").run()
    warning = texts(at, "warning")
    assert "1 row(s) were queued to be sent but have no document in the ledger" in warning
    assert "reconciliation report lists these rows by number" in warning


def test_the_results_page_shows_the_chosen_uploads_balance(tmp_path, monkeypatch):
    ledger = day(tmp_path)
    at = open_app(tmp_path, monkeypatch, page="Results")
    assert "Did every row come back?" not in texts(at, "markdown")  # all uploads: no one balance
    at.selectbox(key="results_upload").set_value(
        next(o for o in at.selectbox(key="results_upload").options if o.startswith("Upload 2 "))
    ).run()
    assert at.exception == []
    sentence = ledger.upload_balance(2).sentence()
    assert sentence.startswith("1,200 rows: ")
    assert f"**Did every row come back?** {sentence}" in texts(at, "markdown")


def test_the_balance_is_counted_again_when_the_uploads_counts_change(tmp_path, monkeypatch):
    ledger = day(tmp_path)
    at = open_app(tmp_path, monkeypatch, page="Batches")
    assert uploads_table(at).set_index("Upload")["Balance"][3].endswith(
        "0 left out, 0 missing, 10 pending")  # the uncertain request's 10 documents
    (chunk,) = ledger.chunks_in_state("uncertain", upload_id=3)
    ledger.resolve_uncertain(chunk["id"], "drop")  # by someone else, between two runs
    at.run()
    assert uploads_table(at).set_index("Upload")["Balance"][3].endswith(
        "10 left out, 0 missing, 0 pending")
