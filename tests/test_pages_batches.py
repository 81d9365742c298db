"""The Batches page under AppTest: progress from the ledger, refresh, retry, uncertain chunks, cancel."""

from __future__ import annotations

import socket

import pytest
from ledger_support import chunks_of_upload
from test_pages_support import (
    PAGES,
    badges,
    finish_processing,
    ledger_of,
    open_app,
    released_runtimes,  # noqa: F401 (a fixture, for pytestmark)
    sheet_csv,
    submit_sheet,
    texts,
    wait_until,
)

pytestmark = pytest.mark.usefixtures("released_runtimes")


def test_refresh_now_brings_results_and_the_upload_reads_complete(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch)
    submit_sheet(at, sheet_csv([f"D{i}" for i in range(6)]), submitter="Asha")
    row = finish_processing(at, ledger_of(tmp_path), 1, 6)
    assert row["extracted"] == 6
    assert badges(at) == ["Complete"]
    assert "6 documents: 6 extracted" in texts(at, "caption")
    assert "submitted by Asha" in texts(at, "caption")
    batches = at.dataframe[0].value
    assert list(batches["State"]) == ["Complete"]
    assert list(batches["Extracted"]) == [6]


def test_failures_show_and_retry_failed_queues_them_again(tmp_path, monkeypatch):
    # Temporary failures (Atlas timed out): the kind a retry may help (test_pages_after_sending
    # holds that the other kind is not offered).
    at = open_app(tmp_path, monkeypatch,
                  behaviour={"fail_rate": 0.5, "temporary_fail_share": 1.0, "seed": 7})
    submit_sheet(at, sheet_csv([f"F{i}" for i in range(10)]))
    ledger = ledger_of(tmp_path)
    row = finish_processing(at, ledger, 1, 10)
    assert row["failed"] > 0, "the sandbox's fail_rate should fail some documents"
    assert badges(at) == ["Complete with failures"]
    assert list(at.dataframe[-1].value["State"]) == ["Complete with failures"]
    at.button(key="retry_1").click().run()
    assert f"{row['failed']} failed document(s) of upload 1 queued again" in texts(at, "success")
    retried = wait_until(
        lambda: ledger.upload(1)["queued"] == 0 and ledger.upload(1), "the retry to be sent"
    )
    assert retried["documents"] == 10  # the failed attempts are superseded, not counted twice


def test_an_uncertain_request_explains_the_risk_and_can_be_dropped(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, behaviour={"rate_drop_after_accept": 1.0})
    submit_sheet(at, sheet_csv(["U1", "U2", "U3"]))
    ledger = ledger_of(tmp_path)
    wait_until(lambda: ledger.upload(1)["uncertain"] == 3, "the request to end uncertain")
    at.switch_page(PAGES["Batches"]).run()
    assert badges(at) == ["Needs a decision"]
    warning = texts(at, "warning")
    assert "Resend" in warning and "processed twice" in warning and "Drop" in warning
    chunk_id = ledger.chunks_in_state("uncertain", upload_id=1)[0]["id"]
    at.button(key=f"drop_{chunk_id}").click().run()
    assert "were dropped" in texts(at, "success")
    assert ledger.upload(1)["cancelled"] == 3
    assert f"drop_{chunk_id}" not in [b.key for b in at.button]


def test_resending_an_uncertain_request_queues_a_new_one(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, behaviour={"rate_drop_after_accept": 1.0})
    submit_sheet(at, sheet_csv(["R1", "R2"]))
    ledger = ledger_of(tmp_path)
    wait_until(lambda: ledger.upload(1)["uncertain"] == 2, "the request to end uncertain")
    at.switch_page(PAGES["Batches"]).run()
    chunk_id = ledger.chunks_in_state("uncertain", upload_id=1)[0]["id"]
    at.button(key=f"resend_{chunk_id}").click().run()
    assert "will be sent again" in texts(at, "success"), texts(at)
    resolved = [c for c in chunks_of_upload(ledger, 1) if c["id"] == chunk_id][0]
    assert (resolved["resolution"], resolved["resolved_by"]) == ("resent", "Asha")


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_cancel_queued_cancels_what_was_not_sent(tmp_path, monkeypatch):
    # Nothing listens at this Atlas, so the request is put back in the queue for a minute.
    at = open_app(
        tmp_path,
        monkeypatch,
        base_url=closed_port_url(),
        client_id="id-1234",
        client_secret="secret-1",
        max_retries=0,
        backoff_base=60,
    )
    submit_sheet(at, sheet_csv(["C1", "C2"]))
    ledger = ledger_of(tmp_path)
    wait_until(
        lambda: (
            [c["attempts"] for c in chunks_of_upload(ledger, 1) if c["state"] == "queued"] == [1]
        ),
        "the first attempt to fail and be put back",
    )
    at.switch_page(PAGES["Batches"]).run()
    assert badges(at) == ["Sending"]
    at.button(key="cancel_1").click().run()
    assert "2 queued document(s) of upload 1 cancelled" in texts(at, "success")
    assert ledger.upload(1)["cancelled"] == 2


def test_pilot_rows_can_be_sent_later_from_batches(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, "Upload")
    at.file_uploader[0].set_value(("pilot.csv", sheet_csv([f"P{i}" for i in range(5)]), "text/csv"))
    at.run()
    at.text_input(key="submitter_input").input("Asha").run()
    at.checkbox(key="pilot_on").check().run()
    at.number_input(key="pilot_rows").set_value(2).run()
    at.button(key="review").click().run()
    at.button(key="confirm_send").click().run()
    at.switch_page(PAGES["Batches"]).run()
    at.button(key="send_held_1").click().run()
    assert "3 held document(s) of upload 1 queued" in texts(at, "success")
    assert ledger_of(tmp_path).upload(1)["documents"] == 5


def test_search_by_document_id_finds_its_batch(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch)
    submit_sheet(at, sheet_csv(["S1", "S2"]))
    ledger = ledger_of(tmp_path)
    finish_processing(at, ledger, 1, 2)
    submit_sheet(at, sheet_csv(["T1"]), name="second.csv")
    finish_processing(at, ledger, 2, 1)
    assert len(at.dataframe[0].value) == 2
    at.text_input(key="batch_search").input("T1").run()
    batches = at.dataframe[0].value
    assert len(batches) == 1 and batches["Upload"].iloc[0] == "2 · second.csv"
    at.text_input(key="batch_search").input("nope").run()
    assert "No batch matches." in texts(at, "caption")


def test_a_batch_without_progress_reads_stalled(tmp_path, monkeypatch):
    # Atlas takes an hour per document here, and a batch counts as stalled after one second.
    at = open_app(tmp_path, monkeypatch, behaviour={"processing_seconds": 3600}, stalled_after=1)
    submit_sheet(at, sheet_csv(["W1", "W2"]))
    ledger = ledger_of(tmp_path)
    wait_until(lambda: ledger.upload(1)["submitted"] == 2, "the worker to send")
    wait_until(
        lambda: ledger.batches_overview(state="stalled", stalled_after=1)[1] == 1,
        "the batch to stall",
    )
    at.switch_page(PAGES["Batches"]).run()
    assert badges(at) == ["Stalled"]
    assert "had no progress for 1 s" in texts(at, "warning")
    assert list(at.dataframe[0].value["State"]) == ["Stalled"]
    at.selectbox(key="batch_state").set_value("Complete").run()
    assert "No batch matches." in texts(at, "caption")
