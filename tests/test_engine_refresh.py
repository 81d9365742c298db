"""Refreshing against the sandbox: every shape of pending and failed, not-ready batches, faults."""

from __future__ import annotations

import pytest
from pg_support import settings_on

from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Settings
from atlas_core.engine import open_runtime, refresh_batch, refresh_batches, send_until_answered
from atlas_core.ledger import RowRecord, UploadRecord
from atlas_core.ledger import states as S

SLOW = 1000.0  # sandbox processing time: nothing finishes until a test advances the clock


def runtime_for(sandbox, location):
    """A runtime on ``sandbox`` with quick retries, its ledger at ``location`` (either engine)."""
    settings = settings_on(Settings(max_retries=1, backoff_base=0.01, backoff_cap=0.05), str(location))
    return open_runtime(settings.with_base_url(sandbox.url, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET))


def submit(runtime, ids: list[str], chunk_size: int = 100) -> list[str]:
    """Queue and send ``ids`` (URLs with 'unreadable' in them fail); return the batch ids."""
    rows = [RowRecord(i + 2, d, f"https://docs.test/{'unreadable' if d.startswith('F') else 'ok'}/{d}.jpg", True)
            for i, d in enumerate(ids)]
    runtime.ledger.record_upload(UploadRecord("a.csv", "POC_CDL"), rows, chunk_size=chunk_size)
    return send_until_answered(runtime.ledger, runtime.client, worker_id="t", max_wait=10).batches


def states_of(runtime) -> dict[str, str]:
    """document_id -> state."""
    return {d["document_id"]: d["state"] for d in runtime.ledger.iter_documents()}


@pytest.mark.parametrize("pending_style", ["absent", "empty", "status"])
@pytest.mark.parametrize("failed_style", ["error_code", "document_type", "empty"])
def test_every_shape_of_pending_and_failed_ends_right(make_sandbox, tmp_path, pending_style, failed_style, ledger_location):
    sandbox = make_sandbox(processing_seconds=SLOW, pending_style=pending_style, failed_style=failed_style)
    with runtime_for(sandbox, ledger_location) as runtime:
        (batch_id,) = submit(runtime, ["A1", "A2", "F1"])
        first = refresh_batch(runtime.ledger, runtime.client, batch_id, force=True)
        assert first.state == S.PROCESSING
        if failed_style != "empty" and pending_style != "empty":
            assert first.pending == 3  # nothing is finished yet, whatever the shape of "pending"
        sandbox.advance(SLOW * 10)
        done = refresh_batch(runtime.ledger, runtime.client, batch_id, force=True)
        assert (done.extracted, done.failed) == (2, 1)
        assert states_of(runtime) == {"A1": S.EXTRACTED, "A2": S.EXTRACTED, "F1": S.FAILED}
        failed = runtime.ledger.documents_page(state=S.FAILED)[0][0]
        assert failed["error"]
        if failed_style == "empty":
            assert done.state == S.PROCESSING  # "no fields" may mean "not yet": keep looking a while
        else:
            assert done.state == S.COMPLETE_WITH_FAILURES


def test_a_batch_is_complete_by_its_documents_not_total_items(make_sandbox, tmp_path, ledger_location):
    sandbox = make_sandbox(processing_seconds=SLOW, total_items_counts="finished", order="finished")
    with runtime_for(sandbox, ledger_location) as runtime:
        (batch_id,) = submit(runtime, [f"A{i}" for i in range(120)], chunk_size=120)
        sandbox.advance(SLOW * 10)
        done = refresh_batch(runtime.ledger, runtime.client, batch_id, force=True)
        assert (done.documents, done.extracted, done.state) == (120, 120, S.COMPLETE)
        stored = {d["document_id"]: d["document_type"] for d in runtime.ledger.iter_documents()}
        truth = {t["document_id"]: t["file_data"]["document_type"] for t in sandbox.truth(batch_id)}
        assert stored == truth


def test_a_brand_new_batch_refused_with_400_is_not_ready_not_failed(make_sandbox, tmp_path, ledger_location):
    sandbox = make_sandbox(processing_seconds=SLOW, new_batch="refuse")
    with runtime_for(sandbox, ledger_location) as runtime:
        (batch_id,) = submit(runtime, ["A1", "A2"])
        summary = refresh_batches(runtime.ledger, runtime.client, force=True)
        batch = runtime.ledger.batch(batch_id)
        assert summary.polled == 0 and summary.errors == {}
        assert (batch["state"], batch["last_error"], batch["poll_step"]) == (S.PROCESSING, None, 1)
        assert set(states_of(runtime).values()) == {S.SUBMITTED}
        sandbox.advance(SLOW * 10)
        assert refresh_batch(runtime.ledger, runtime.client, batch_id, force=True).state == S.COMPLETE


def test_an_unavailable_atlas_is_noted_and_polled_again_later(make_sandbox, tmp_path, ledger_location):
    sandbox = make_sandbox(processing_seconds=SLOW)
    with runtime_for(sandbox, ledger_location) as runtime:
        (batch_id,) = submit(runtime, ["A1"])
        sandbox.advance(SLOW * 10)
        sandbox.inject("503", "503", "503", path="/v1/bulk/extracts")
        summary = refresh_batches(runtime.ledger, runtime.client, force=True)
        batch = runtime.ledger.batch(batch_id)
        assert "503" in summary.errors[batch_id] and "503" in batch["last_error"]
        assert batch["next_poll_at"] > batch["last_polled_at"] and batch["state"] == S.PROCESSING
        again = refresh_batches(runtime.ledger, runtime.client, force=True)
        assert again.finished == 1 and runtime.ledger.batch(batch_id)["last_error"] is None


def test_only_due_batches_are_polled_unless_forced(make_sandbox, tmp_path, ledger_location):
    sandbox = make_sandbox(processing_seconds=SLOW)
    with runtime_for(sandbox, ledger_location) as runtime:
        submit(runtime, ["A1"])
        # The first poll is due a few seconds after submitting, not at once.
        assert refresh_batches(runtime.ledger, runtime.client).polled == 0
        assert refresh_batches(runtime.ledger, runtime.client, force=True).polled == 1
        assert refresh_batches(runtime.ledger, runtime.client).polled == 0  # backed off


def test_finished_batches_are_not_polled_again(make_sandbox, tmp_path, ledger_location):
    sandbox = make_sandbox(processing_seconds=SLOW)
    with runtime_for(sandbox, ledger_location) as runtime:
        submit(runtime, ["A1", "A2"], chunk_size=1)
        sandbox.advance(SLOW * 10)
        assert refresh_batches(runtime.ledger, runtime.client, force=True).finished == 2
        polls = sum(1 for r in sandbox.request_log() if r["path"].endswith("/extracts"))
        assert refresh_batches(runtime.ledger, runtime.client, force=True).polled == 0
        assert sum(1 for r in sandbox.request_log() if r["path"].endswith("/extracts")) == polls


def test_min_confidence_and_the_field_sample_come_from_file_data(make_sandbox, tmp_path, ledger_location):
    sandbox = make_sandbox(processing_seconds=SLOW)
    with runtime_for(sandbox, ledger_location) as runtime:
        (batch_id,) = submit(runtime, [f"A{i}" for i in range(10)])
        sandbox.advance(SLOW * 10)
        refresh_batch(runtime.ledger, runtime.client, batch_id, force=True)
        sample = runtime.ledger.field_confidence_sample()
        truth = {t["document_id"]: t["file_data"] for t in sandbox.truth(batch_id)}
        expected = sorted(
            (key, value["confidence_score"]) for data in truth.values() for key, value in data.items()
            if isinstance(value, dict) and isinstance(value.get("confidence_score"), int | float)
        )
        assert sorted((r["field"], r["confidence"]) for r in sample) == expected
        for doc in runtime.ledger.iter_documents():
            scores = [v["confidence_score"] for v in truth[doc["document_id"]].values()
                      if isinstance(v, dict) and isinstance(v.get("confidence_score"), int | float)]
            assert doc["min_confidence"] == pytest.approx(min(scores))


def test_a_400_long_after_submitting_is_reported(make_sandbox, tmp_path, ledger_location):
    import time

    from atlas_core.client import UploadItem
    from atlas_core.engine.refreshing import NOT_READY_GRACE

    sandbox = make_sandbox(processing_seconds=SLOW, new_batch="refuse")
    with runtime_for(sandbox, ledger_location) as runtime:
        receipts = runtime.client.multiupload("POC_CDL", [UploadItem("https://docs.test/ok/1.jpg", "OLD1")])
        sent_at = time.time() - NOT_READY_GRACE - 60  # recorded as submitted over ten minutes ago
        runtime.ledger.record_upload(UploadRecord("a.csv", "POC_CDL"),
                                     [RowRecord(2, "OLD1", "https://docs.test/ok/1.jpg", True)],
                                     chunk_size=1, now=sent_at)
        chunk = runtime.ledger.claim_chunk("t", now=sent_at)
        runtime.ledger.record_sent(chunk.chunk_id, [(r.batch_id, r.document_id, r.file_uuid) for r in receipts],
                                   now=sent_at)
        summary = refresh_batches(runtime.ledger, runtime.client, force=True)
        batch = runtime.ledger.batch(receipts[0].batch_id)
        assert "Invalid batch_id" in summary.errors[receipts[0].batch_id]
        assert "Invalid batch_id" in batch["last_error"] and batch["state"] == S.PROCESSING


@pytest.mark.parametrize(("fault", "first_poll_works"), [("expire_tokens", True), ("drop", False), ("429", False)])
def test_refresh_survives_token_expiry_drops_and_throttling(make_sandbox, tmp_path, fault, first_poll_works, ledger_location):
    sandbox = make_sandbox(processing_seconds=SLOW, retry_after=0)
    with runtime_for(sandbox, ledger_location) as runtime:
        (batch_id,) = submit(runtime, [f"A{i}" for i in range(60)])
        sandbox.advance(SLOW * 10)
        if fault == "expire_tokens":
            sandbox.expire_tokens()  # the client mints a new token on the 401 and carries on
        else:
            sandbox.inject(fault, fault, fault, path="/v1/bulk/extracts")  # outlasts one retry
        first = refresh_batches(runtime.ledger, runtime.client, force=True)
        assert first.finished == int(first_poll_works)
        if not first_poll_works:
            assert batch_id in first.errors and runtime.ledger.batch(batch_id)["last_error"]
            assert runtime.ledger.batch(batch_id)["extracted"] == 0
            assert refresh_batches(runtime.ledger, runtime.client, force=True).finished == 1
        assert runtime.ledger.batch(batch_id)["extracted"] == 60
        assert runtime.ledger.batch(batch_id)["last_error"] is None


def test_pages_are_stored_in_page_order_and_a_later_copy_with_results_wins(tmp_path, ledger_location):
    from atlas_core.engine.refreshing import PageStore, interpret_page
    from atlas_core.ledger import Ledger

    ledger = Ledger(ledger_location)
    ids = ["a", "b", "c", "d"]
    rows = [RowRecord(i + 2, d, f"https://x.test/{d}.jpg", True) for i, d in enumerate(ids)]
    ledger.record_upload(UploadRecord("a.csv", "POC_CDL"), rows, chunk_size=4)
    chunk = ledger.claim_chunk("w")
    ledger.record_sent(chunk.chunk_id, [("B1", d, "u") for _, d, _ in chunk.documents])

    def fields(name: str) -> dict:
        return {"document_type": "PAN", "name": {"value": name, "confidence_score": 0.9}}

    store = PageStore(ledger, "B1")
    # Page 2 arrives first; pages shifted while Atlas worked, so some documents show twice.
    store.put(2, interpret_page([{"document_id": "a", "file_data": fields("late")},  # ignored
                                 {"document_id": "b", "file_data": fields("B")},  # replaces {}
                                 {"document_id": "c", "file_data": {}}]))  # ignored
    store.put(1, interpret_page([{"document_id": "a", "file_data": fields("early")},
                                 {"document_id": "b", "file_data": {}},
                                 {"document_id": "c", "file_data": fields("C")},
                                 {"file_data": fields("no id")}]))
    store.put(3, interpret_page([]))  # a page Atlas refused
    assert store.close() is False  # b's inferred failure was replaced by its result
    docs = {d["document_id"]: d for d in ledger.iter_documents()}
    assert {k: d["state"] for k, d in docs.items()} == {
        "a": S.EXTRACTED, "b": S.EXTRACTED, "c": S.EXTRACTED, "d": S.SUBMITTED}
    assert [docs[k]["file_data"]["name"]["value"] for k in "abc"] == ["early", "B", "C"]
    assert store.changed == 4  # b was stored empty (failed), then with its result


@pytest.mark.parametrize("arrival", [(1, 2, 3), (3, 2, 1), (2, 3, 1)], ids=lambda a: "-".join(map(str, a)))
def test_the_refresh_stores_the_copy_the_client_collects(tmp_path, arrival, ledger_location):
    """One rule for a repeated document: what the refresh stores is what fetch_extracts returns."""
    from atlas_core.client.extracts import ItemCollector
    from atlas_core.engine.refreshing import PageStore, interpret_page
    from atlas_core.ledger import Ledger

    def copy(doc_id: str, name: str | None) -> dict:
        fields = {"document_type": "PAN", "name": {"value": name, "confidence_score": 0.9}}
        return {"document_id": doc_id, "file_data": fields if name else {}}

    pages = {
        1: [copy("a", None), copy("b", "b1"), copy("c", None)],
        2: [copy("a", "a2"), copy("b", "b2"), copy("d", None), copy("c", None)],
        3: [copy("a", "a3"), copy("d", "d3"), copy("c", "c3")],
    }
    collector = ItemCollector()
    for number in sorted(pages):
        collector.add(pages[number])
    collected = {i["document_id"]: (i["file_data"] or {}).get("name", {}).get("value")
                 for i in collector.items()}
    assert collected == {"a": "a2", "b": "b1", "c": "c3", "d": "d3"}

    ledger = Ledger(ledger_location)
    rows = [RowRecord(i + 2, d, f"https://x.test/{d}.jpg", True) for i, d in enumerate("abcd")]
    ledger.record_upload(UploadRecord("a.csv", "POC_CDL"), rows, chunk_size=4)
    chunk = ledger.claim_chunk("w")
    ledger.record_sent(chunk.chunk_id, [("B1", d, "u") for _, d, _ in chunk.documents])
    store = PageStore(ledger, "B1")
    for number in arrival:  # stored in page order whatever order the pages arrive in
        store.put(number, interpret_page(pages[number]))
    assert store.close() is False
    stored = {d["document_id"]: (d["file_data"] or {}).get("name", {}).get("value")
              for d in ledger.iter_documents()}
    assert stored == collected
