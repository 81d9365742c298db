"""Storing results, batch states (incl. stalled), the poll schedule and the page queries."""

from __future__ import annotations

import pytest
from ledger_support import record_results
from pg_support import another_location

from atlas_core.ledger import Interpreted, Ledger, RowRecord, UploadRecord, poll_delay
from atlas_core.ledger import states as S


@pytest.fixture
def ledger(ledger_location) -> Ledger:
    """A fresh ledger: a file under tmp_path, or a fresh PostgreSQL database (both engines run)."""
    return Ledger(ledger_location)


def sent_batch(ledger: Ledger, ids: list[str], batch_id: str = "B1", now: float = 1000.0) -> str:
    """An upload of ``ids`` sent as one batch at time ``now``."""
    rows = [RowRecord(i + 2, d, f"https://x.test/{d}.jpg", True) for i, d in enumerate(ids)]
    queued = ledger.record_upload(UploadRecord("a.csv", "POC_CDL"), rows, chunk_size=len(ids), now=now)
    chunk = ledger.claim_chunk("w", upload_id=queued.upload_id, now=now)
    ledger.record_sent(chunk.chunk_id, [(batch_id, d, "u") for _, d, _ in chunk.documents], now=now)
    return batch_id


def extracted(doc_id: str, confidence: float = 0.9, doc_type: str = "PAN") -> Interpreted:
    """An extracted result with one field."""
    return Interpreted(doc_id, S.EXTRACTED, doc_type, None,
                       {"document_type": doc_type, "name": {"value": "A", "confidence_score": confidence},
                        "formatted_address": {"state": "KA"}},
                       confidence)


def test_results_finish_a_batch_only_when_every_document_has_one(ledger):
    sent_batch(ledger, ["a", "b", "c"])
    first = record_results(ledger, "B1", [extracted("a"), Interpreted("b", "pending"),
                                         Interpreted("zz", S.EXTRACTED)], now=1010.0)
    assert (first.extracted, first.failed, first.pending, first.state) == (1, 0, 2, S.PROCESSING)
    done = record_results(ledger, "B1", [extracted("a"), extracted("b"), extracted("c")], now=1020.0)
    assert (done.state, done.changed, done.next_poll_at) == (S.COMPLETE, 2, None)
    assert ledger.due_batches(now=10**9, all_unfinished=True) == []
    assert ledger.batch("B1")["completed_at"] == 1020.0


def test_failures_make_complete_with_failures(ledger):
    sent_batch(ledger, ["a", "b"])
    progress = record_results(ledger, "B1", [extracted("a"), Interpreted("b", S.FAILED, error="UNRECOGNISED")])
    assert progress.state == S.COMPLETE_WITH_FAILURES
    detail = ledger.document_detail(ledger.documents_page(state=S.FAILED)[0][0]["id"])
    assert detail["error"] == "UNRECOGNISED" and detail["attempts"][0]["state"] == S.FAILED


def test_keep_open_holds_a_finished_batch_open(ledger):
    sent_batch(ledger, ["a"])
    held = record_results(ledger, "B1", [Interpreted("a", S.FAILED, error="nothing")], keep_open=True)
    assert held.state == S.PROCESSING and held.next_poll_at is not None
    later = record_results(ledger, "B1", [extracted("a")])
    assert later.state == S.COMPLETE


def test_a_result_that_did_not_change_is_not_rewritten(ledger):
    sent_batch(ledger, ["a", "b"])
    assert record_results(ledger, "B1", [extracted("a")]).changed == 1
    assert record_results(ledger, "B1", [extracted("a")]).changed == 0
    assert record_results(ledger, "B1", [extracted("a", 0.5)]).changed == 1
    detail = ledger.document_detail(1)
    assert detail["file_data"]["name"] == {"value": "A", "confidence_score": 0.5}
    assert detail["min_confidence"] == 0.5


@pytest.mark.parametrize(("step", "delay"), [(0, 5), (1, 10), (2, 20), (5, 160), (6, 300), (40, 300)])
def test_the_poll_delay_doubles_up_to_five_minutes(step, delay):
    assert poll_delay(step) == delay


def test_polling_backs_off_without_progress_and_resets_with_it(ledger):
    sent_batch(ledger, ["a", "b", "c"], now=0.0)
    assert ledger.batch("B1")["next_poll_at"] == 5.0  # first poll shortly after submitting
    nexts = [record_results(ledger, "B1", [], now=t).next_poll_at - t for t in (5.0, 15.0, 35.0)]
    assert nexts == [10.0, 20.0, 40.0]
    assert record_results(ledger, "B1", [extracted("a")], now=75.0).next_poll_at == 80.0
    assert ledger.record_poll_error("B1", "Atlas answered 503", now=80.0) == 90.0
    assert ledger.batch("B1")["last_error"] == "Atlas answered 503"


def test_due_batches_and_claiming_a_poll(ledger):
    sent_batch(ledger, ["a"], "B1", now=0.0)
    sent_batch(ledger, ["b"], "B2", now=100.0)
    assert ledger.due_batches(now=6.0) == ["B1"]
    assert ledger.due_batches(now=6.0, all_unfinished=True) == ["B1", "B2"]
    assert ledger.claim_poll("B1", now=6.0) is True
    assert ledger.claim_poll("B1", now=7.0) is False  # leased to the first poller
    assert ledger.claim_poll("B1", now=7.0, force=True) is True


def test_a_batch_without_progress_is_stalled(ledger):
    sent_batch(ledger, ["a", "b"], now=0.0)
    record_results(ledger, "B1", [extracted("a")], now=100.0)
    for now, state in [(100.0 + 1799, S.PROCESSING), (100.0 + 1801, S.STALLED)]:
        rows, _ = ledger.batches_overview(now=now, stalled_after=1800)
        assert rows[0]["state"] == state
    assert ledger.batches_overview(state=S.STALLED, now=2000.0, stalled_after=1800)[1] == 1
    assert ledger.batches_overview(state=S.PROCESSING, now=2000.0, stalled_after=1800)[1] == 0


def test_batches_overview_filters_and_searches(ledger):
    sent_batch(ledger, ["a", "b"], "B1")
    sent_batch(ledger, ["c"], "B2")
    assert [r["batch_id"] for r in ledger.batches_overview(search="c")[0]] == ["B2"]
    assert [r["batch_id"] for r in ledger.batches_overview(search="B1")[0]] == ["B1"]
    rows, total = ledger.batches_overview(limit=1, offset=1)
    assert total == 2 and len(rows) == 1
    assert ledger.batches_overview(upload_id=1)[0][0]["documents"] == 2


def test_documents_page_filters(ledger):
    sent_batch(ledger, ["a", "b", "c", "d"])
    record_results(ledger, "B1", [extracted("a", 0.95), extracted("b", 0.6, "AADHAAR"), extracted("c", 0.75),
                                 Interpreted("d", S.FAILED, error="x")])
    def ids(**filters):
        return sorted(r["document_id"] for r in ledger.documents_page(**filters)[0])
    assert ids(needs_review_below=0.8) == ["b", "c"]
    assert ids(min_confidence=0.7, max_confidence=0.9) == ["c"]
    assert ids(document_type="AADHAAR") == ["b"]
    assert ids(state=S.FAILED) == ["d"]
    assert ids(search="a") == ["a"]
    page, total = ledger.documents_page(limit=2, offset=2)
    assert total == 4 and [r["document_id"] for r in page] == ["b", "a"]
    assert "file_data" not in page[0]
    (with_data,), _ = ledger.documents_page(search="b", with_file_data=True)
    assert with_data["file_data"]["name"]["confidence_score"] == 0.6


def test_aggregates_for_the_pages(ledger):
    sent_batch(ledger, ["a", "b", "c"], now=0.0)
    record_results(ledger, "B1", [extracted("a", 0.95), extracted("b", 0.55)], now=3600.0)
    record_results(ledger, "B1", [extracted("a", 0.95), extracted("b", 0.55),
                                 Interpreted("c", S.FAILED, error="x")], now=7300.0)
    (upload,), total = ledger.list_uploads()
    assert total == 1
    assert (upload["documents"], upload["extracted"], upload["failed"], upload["progress"]) == (3, 2, 1, 1.0)
    assert ledger.finished_over_time(bucket_seconds=3600) == [
        {"bucket": 3600, "extracted": 2, "failed": 0}, {"bucket": 7200, "extracted": 0, "failed": 1}]
    (name,) = ledger.field_confidence(review_below=0.8, bins=10)  # formatted_address has no score
    assert (name["field"], name["values_seen"], name["below_threshold"]) == ("name", 2, 1)
    assert name["histogram"][5] == 1 and name["histogram"][9] == 1
    assert name["mean_confidence"] == pytest.approx(0.75) and name["min_confidence"] == 0.55
    assert len(ledger.field_confidence_sample(limit=1)) == 1  # bounded: the newest document only
    counts = {(r["document_type"], r["state"]): r["documents"] for r in ledger.counts_by_type_and_state()}
    assert counts == {("PAN", S.EXTRACTED): 2, (None, S.FAILED): 1}


def test_streams_page_through_everything(ledger):
    sent_batch(ledger, [f"d{i}" for i in range(25)])
    record_results(ledger, "B1", [extracted(f"d{i}") for i in range(25)])
    docs = list(ledger.iter_documents(page_size=7))
    assert [d["document_id"] for d in docs] == [f"d{i}" for i in range(25)]
    assert docs[0]["file_data"]["name"]["value"] == "A" and docs[0]["row_number"] == 2
    assert {"document_id", "batch_id", "file_url", "state", "document_type", "error", "file_data",
            "min_confidence", "upload_id", "attempt", "row_number"} <= set(docs[0])
    assert len(list(ledger.iter_upload_rows(1, page_size=10))) == 25
    assert list(ledger.iter_documents(states=[S.FAILED])) == []


def test_results_stored_page_by_page_then_finished_match_one_go(ledger_location, request):
    one, paged = Ledger(ledger_location), Ledger(another_location(request))
    ids = [f"d{i}" for i in range(7)]
    results = [extracted(d) for d in ids[:5]] + [Interpreted("d5", S.FAILED, error="x"),
                                                 Interpreted("d6", "pending")]
    for ledger in (one, paged):
        sent_batch(ledger, ids)
    expected = record_results(one, "B1", results, now=1010.0)
    changed = sum(paged.record_documents("B1", results[i:i + 3], now=1010.0) for i in range(0, 7, 3))
    progress = paged.finish_poll("B1", changed, now=1010.0)
    assert progress == expected and (progress.changed, progress.pending) == (6, 1)
    assert paged.record_documents("B1", results, now=1020.0) == 0  # nothing new: nothing counted
    stored = {ledger: sorted((d["document_id"], d["state"], d["min_confidence"], d["error"])
                             for d in ledger.iter_documents()) for ledger in (one, paged)}
    assert stored[one] == stored[paged]
