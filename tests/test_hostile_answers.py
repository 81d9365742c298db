"""Hostile answers from Atlas, played by the sandbox over a real socket, through engine and ledger.

A 2xx whose body cannot be read (nested 100,000 deep, not JSON, the wrong shape, too large)
leaves no chunk 'sending' and no refresh crashed; NaN and Infinity in file_data are stored as
standard JSON, and a row an older version stored as non-standard JSON breaks no query.
"""

from __future__ import annotations

import json
import sqlite3

import pytest
from ledger_support import chunks_of_upload

from atlas_core.client import AtlasClient, RetryPolicy
from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Settings
from atlas_core.engine import open_runtime, refresh_batches, send_until_answered
from atlas_core.engine.submitting import send_queued
from atlas_core.errors import LedgerError, TokenEndpointError
from atlas_core.ledger import Ledger, RowRecord, UploadRecord
from atlas_core.ledger import states as S

HOSTILE = ["deep_json", "not_json", "wrong_shape", "huge"]
SLOW = 1000.0  # sandbox processing time: nothing finishes until a test advances the clock


@pytest.fixture
def runtime(sandbox, tmp_path):
    """A runtime on the sandbox fixture with quick retries."""
    settings = Settings(db_path=str(tmp_path / "atlas.db"), max_retries=1, backoff_base=0.01,
                        backoff_cap=0.05).with_base_url(sandbox.url, SANDBOX_CLIENT_ID,
                                                        SANDBOX_CLIENT_SECRET)
    with open_runtime(settings) as rt:
        yield rt


def queue(runtime, n: int, prefix: str = "D") -> int:
    """Record an upload of n valid rows in one chunk; return its id."""
    rows = [RowRecord(i + 2, f"{prefix}{i}", f"https://docs.test/ok/{prefix}{i}.jpg", True)
            for i in range(n)]
    return runtime.ledger.record_upload(UploadRecord("a.csv", "POC_CDL"), rows,
                                        chunk_size=100).upload_id


def chunk_states(runtime) -> list[str]:
    """The state of every chunk in the ledger."""
    return [c["state"] for c in chunks_of_upload(runtime.ledger, 1)]


def doc_states(runtime) -> set[str]:
    """The states of the current attempts."""
    return {d["document_id"]: d["state"] for d in runtime.ledger.iter_documents()}.values()


# Uploads


@pytest.mark.parametrize("answer", HOSTILE)
def test_an_unreadable_answer_to_an_upload_makes_the_chunk_uncertain(runtime, sandbox, answer):
    sandbox.set_behaviour(hostile_upload_answer=answer)
    queue(runtime, 3)
    summary = send_queued(runtime.ledger, runtime.client, worker_id="w")
    assert summary.uncertain == 3 and summary.documents_sent == 0
    assert chunk_states(runtime) == [S.UNCERTAIN]
    assert set(doc_states(runtime)) == {S.UNCERTAIN}
    (chunk,) = runtime.ledger.chunks_in_state(S.UNCERTAIN)
    assert chunk["error"].startswith("Atlas a") and "uncertain" in chunk["error"]
    assert "Error" not in chunk["error"] and "Traceback" not in chunk["error"]
    # Atlas did take it, and it is never sent again without a person deciding.
    assert sandbox.accept_counts() == {"D0": 1, "D1": 1, "D2": 1}
    sandbox.set_behaviour(hostile_upload_answer="none")
    assert send_until_answered(runtime.ledger, runtime.client, worker_id="w",
                               max_wait=5).chunks_sent == 0
    assert sandbox.accept_counts() == {"D0": 1, "D1": 1, "D2": 1}


def test_each_unreadable_answer_says_plainly_what_was_wrong(runtime, sandbox):
    reasons = {}
    for number, answer in enumerate(HOSTILE):
        sandbox.set_behaviour(hostile_upload_answer=answer)
        queue(runtime, 1, prefix=f"P{number}-")
        send_queued(runtime.ledger, runtime.client, worker_id="w")
    for chunk in runtime.ledger.chunks_in_state(S.UNCERTAIN):
        reasons[chunk["upload_id"]] = chunk["error"]
    assert "nested more than 64 levels deep" in reasons[1]
    assert "not with JSON: '<html><body>OK</body></html>'" in reasons[2]
    assert "instead of a list of receipts" in reasons[3]
    assert "MB, more than the 32 MB" in reasons[4]


def test_a_deep_answer_to_a_concurrent_round_leaves_no_chunk_sending(runtime, sandbox):
    sandbox.set_behaviour(hostile_upload_answer="deep_json")
    rows = [RowRecord(i + 2, f"C{i}", f"https://docs.test/ok/C{i}.jpg", True) for i in range(20)]
    runtime.ledger.record_upload(UploadRecord("a.csv", "POC_CDL"), rows, chunk_size=4)
    summary = send_queued(runtime.ledger, runtime.client, worker_id="w", concurrency=3)
    assert summary.uncertain == 20
    assert runtime.ledger.queued_work()["sending"] == 0
    assert set(chunk_states(runtime)) == {S.UNCERTAIN}


@pytest.mark.parametrize("answer", HOSTILE)
def test_an_unreadable_token_answer_sends_nothing_and_keeps_the_chunk_queued(runtime, sandbox,
                                                                              answer):
    sandbox.set_behaviour(hostile_token_answer=answer)
    queue(runtime, 2)
    # A token endpoint that gives no usable token stops sending (TokenEndpointError); nothing left.
    with pytest.raises(TokenEndpointError):
        send_queued(runtime.ledger, runtime.client, worker_id="w")
    assert chunk_states(runtime) == [S.QUEUED] and set(doc_states(runtime)) == {S.QUEUED}
    assert sandbox.accept_counts() == {}
    assert "token" in chunks_of_upload(runtime.ledger, 1)[0]["error"]
    sandbox.set_behaviour(hostile_token_answer="none")
    send_until_answered(runtime.ledger, runtime.client, worker_id="w", max_wait=5)
    assert sandbox.accept_counts() == {"D0": 1, "D1": 1}


# Our own failures around an upload (stand-ins for bugs: the collaborators below raise where
# a bug of ours would, while the request itself goes to the sandbox over a real socket).


class BugReadingReceipts(AtlasClient):
    """A client whose reading of the receipts fails as a bug would."""

    def _receipts(self, response, items):
        raise KeyError("a bug of ours")


class BugAfterTheAnswer(AtlasClient):
    """A client that fails unexpectedly after Atlas answered the upload."""

    def multiupload(self, product_type, items, *, on_send=None, deadline=None):
        super().multiupload(product_type, items, on_send=on_send, deadline=deadline)
        raise RuntimeError("a bug of ours")


class BugBeforeSending(AtlasClient):
    """A client that fails unexpectedly before the request leaves."""

    def multiupload(self, product_type, items, *, on_send=None, deadline=None):
        raise RuntimeError("a bug of ours")


def client_of(cls, sandbox):
    """A client of class ``cls`` on the sandbox, with quick retries."""
    return cls(sandbox.url, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET,
               retry=RetryPolicy(1, 0.01, 0.05))


def test_a_bug_reading_receipts_makes_the_chunk_uncertain_not_sending(runtime, sandbox, caplog):
    queue(runtime, 2)
    with client_of(BugReadingReceipts, sandbox) as client:
        summary = send_queued(runtime.ledger, client, worker_id="w")
    assert summary.uncertain == 2 and chunk_states(runtime) == [S.UNCERTAIN]
    assert "internal error" in runtime.ledger.chunks_in_state(S.UNCERTAIN)[0]["error"]
    assert "KeyError" in caplog.text  # logged with its traceback
    assert sandbox.accept_counts() == {"D0": 1, "D1": 1}


def test_any_exception_after_the_request_left_makes_the_chunk_uncertain(runtime, sandbox):
    queue(runtime, 2)
    with client_of(BugAfterTheAnswer, sandbox) as client, pytest.raises(RuntimeError):
        send_queued(runtime.ledger, client, worker_id="w")
    assert chunk_states(runtime) == [S.UNCERTAIN] and set(doc_states(runtime)) == {S.UNCERTAIN}
    error = runtime.ledger.chunks_in_state(S.UNCERTAIN)[0]["error"]
    assert "An internal error (RuntimeError; it was logged)" in error
    assert sandbox.accept_counts() == {"D0": 1, "D1": 1}


def test_any_exception_before_the_request_left_puts_the_chunk_back(runtime, sandbox):
    queue(runtime, 2)
    with client_of(BugBeforeSending, sandbox) as client, pytest.raises(RuntimeError):
        send_queued(runtime.ledger, client, worker_id="w")
    assert chunk_states(runtime) == [S.QUEUED] and set(doc_states(runtime)) == {S.QUEUED}
    assert "queued again" in chunks_of_upload(runtime.ledger, 1)[0]["error"]
    assert sandbox.accept_counts() == {}


class LedgerFailingOnReceipts(Ledger):
    """A ledger whose write of the receipts fails (a full disk, say)."""

    def record_sent(self, chunk_id, answer, **kwargs):
        raise LedgerError("The ledger could not be written: disk I/O error.")

    def record_sent_and_claim(self, chunk_id, answer, worker_id, **kwargs):
        raise LedgerError("The ledger could not be written: disk I/O error.")


def test_receipts_that_cannot_be_recorded_leave_the_chunk_uncertain(runtime, sandbox, tmp_path):
    queue(runtime, 2)
    failing = LedgerFailingOnReceipts(tmp_path / "atlas.db")
    try:
        with pytest.raises(LedgerError):
            send_queued(failing, runtime.client, worker_id="w")
    finally:
        failing.close()
    (chunk,) = runtime.ledger.chunks_in_state(S.UNCERTAIN)
    (batch_id,) = {u["batch_id"] for u in sandbox.received_uploads()}
    assert f"Atlas accepted these documents as batch {batch_id}" in chunk["error"]


# Extracts pages


def submit_and_finish(runtime, sandbox, ids: list[str]) -> str:
    """Queue and send ``ids`` as one batch, let the sandbox finish them; return the batch id."""
    rows = [RowRecord(i + 2, d, f"https://docs.test/ok/{d}.jpg", True) for i, d in enumerate(ids)]
    runtime.ledger.record_upload(UploadRecord("a.csv", "POC_CDL"), rows, chunk_size=100)
    (batch_id,) = send_until_answered(runtime.ledger, runtime.client, worker_id="t",
                                      max_wait=10).batches
    sandbox.advance(60)
    return batch_id


@pytest.mark.parametrize("answer", HOSTILE)
def test_an_unreadable_extracts_page_is_a_plain_error_on_that_batch(runtime, sandbox, answer):
    batch_id = submit_and_finish(runtime, sandbox, ["A1", "A2"])
    sandbox.set_behaviour(hostile_extracts_answer=answer)
    summary = refresh_batches(runtime.ledger, runtime.client, force=True)
    batch = runtime.ledger.batch(batch_id)
    assert batch["state"] == S.PROCESSING and batch["last_error"] == summary.errors[batch_id]
    assert batch["last_error"].startswith("Atlas answered extracts page 1")
    assert "Error" not in batch["last_error"]
    assert set(doc_states(runtime)) == {S.SUBMITTED}
    sandbox.set_behaviour(hostile_extracts_answer="none")  # Atlas mends: the next poll works
    refresh_batches(runtime.ledger, runtime.client, force=True)
    batch = runtime.ledger.batch(batch_id)
    assert (batch["state"], batch["last_error"]) == (S.COMPLETE, None)


class BugOnOneBatch(AtlasClient):
    """A client whose reading of one batch's pages fails as a bug of ours would."""

    broken = ""

    def extracts_page(self, batch_id, page=1, per_page=50):
        if batch_id == self.broken:
            raise RuntimeError("a bug of ours")
        return super().extracts_page(batch_id, page, per_page)


def test_an_internal_failure_on_one_batch_is_its_plain_error_and_the_others_go_on(
    runtime, sandbox, caplog
):
    first = submit_and_finish(runtime, sandbox, ["A1"])
    second = submit_and_finish(runtime, sandbox, ["B1"])
    with client_of(BugOnOneBatch, sandbox) as client:
        client.broken = first
        summary = refresh_batches(runtime.ledger, client, force=True)
    assert list(summary.errors) == [first] and "internal error" in summary.errors[first]
    assert runtime.ledger.batch(first)["last_error"] == summary.errors[first]
    assert runtime.ledger.batch(second)["state"] == S.COMPLETE
    assert "RuntimeError" in caplog.text


# NaN and Infinity in file_data


def test_nan_and_infinity_from_atlas_are_stored_as_standard_json(runtime, sandbox, tmp_path):
    sandbox.set_behaviour(nan_in_file_data=True)
    batch_id = submit_and_finish(runtime, sandbox, ["N1", "N2", "N3"])
    summary = refresh_batches(runtime.ledger, runtime.client, force=True)
    assert summary.errors == {} and runtime.ledger.batch(batch_id)["state"] == S.COMPLETE
    with sqlite3.connect(tmp_path / "atlas.db") as db:
        stored = [r[0] for r in db.execute("SELECT file_data FROM documents")]
        assert all(db.execute("SELECT json_valid(?)", [text]).fetchone()[0] for text in stored)
    for text in stored:
        data = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} stored"))
        kept = [v for f in data.values() if isinstance(f, dict) for v in f.values()]
        assert "NaN" in kept and "Infinity" in kept and "-Infinity" in kept
    # The queries the Results page runs, SQLite's JSON functions included, all work.
    rows, total = runtime.ledger.documents_page(with_file_data=True)
    assert total == 3 and all(r["file_data"] for r in rows)
    assert runtime.ledger.document_detail(rows[0]["id"])["file_data"]
    fields = runtime.ledger.field_confidence()
    assert fields and all(0.0 <= f["min_confidence"] <= 1.0 for f in fields)
    assert all(d["min_confidence"] is not None for d in rows)


def spoil_stored_file_data(db_path, texts: list[str]) -> None:
    """Overwrite stored file_data as an older version (or a damaged disk) might have left it."""
    with sqlite3.connect(db_path) as db:
        ids = [r[0] for r in db.execute("SELECT id FROM documents ORDER BY id")]
        for row_id, text in zip(ids, texts, strict=False):
            db.execute("UPDATE documents SET file_data = ? WHERE id = ?", [text, row_id])


OLD_ROWS = [
    '{"document_type": "PAN", "name": {"value": "A", "confidence_score": NaN}}',
    '{"document_type": "PAN", "name": {"value": Infinity, "confidence_score": 0.9',
]


def test_a_row_stored_as_non_standard_json_breaks_no_results_query(runtime, sandbox, tmp_path):
    submit_and_finish(runtime, sandbox, ["O1", "O2", "O3"])
    refresh_batches(runtime.ledger, runtime.client, force=True)
    spoil_stored_file_data(tmp_path / "atlas.db", OLD_ROWS)
    ledger = runtime.ledger
    rows, total = ledger.documents_page(with_file_data=True)
    assert total == 3
    by_id = {r["id"]: r["file_data"] for r in rows}
    first, second, third = sorted(by_id)
    assert by_id[first]["name"]["confidence_score"] == "NaN"
    assert by_id[second] is None  # unreadable: shown without its fields
    assert by_id[third]["document_type"]
    assert ledger.document_detail(second)["file_data"] is None
    assert {f["field"] for f in ledger.field_confidence()}  # the sound document still counts
    assert len(list(ledger.iter_documents())) == 3
