"""Submitting against the sandbox over a real socket: chunks, concurrency, faults, decisions."""

from __future__ import annotations

import time

import pytest
from ledger_support import chunks_of_upload
from pg_support import settings_on

from atlas_core.engine import open_runtime, resolve_uncertain, retry_failed, send_until_answered
from atlas_core.engine.refreshing import refresh_batches
from atlas_core.engine.submitting import send_queued
from atlas_core.errors import AuthError, ConnectFailedError, TokenEndpointError
from atlas_core.ledger import RowRecord, UploadRecord
from atlas_core.ledger import states as S


@pytest.fixture
def sandbox_settings(sandbox_settings, ledger_location):
    """The shared sandbox settings with the ledger on each engine in turn (SQLite, PostgreSQL)."""
    return settings_on(sandbox_settings, ledger_location)


@pytest.fixture
def runtime(sandbox_settings):
    """A runtime on the sandbox fixture, with quick client retries so faults surface fast."""
    settings = sandbox_settings.replace(max_retries=1, backoff_base=0.01, backoff_cap=0.05)
    with open_runtime(settings) as rt:
        yield rt


def queue(runtime, n: int, *, chunk_size: int = 10, prefix: str = "D", url: str = "ok", **kwargs) -> int:
    """Record an upload of n valid rows; return its id."""
    rows = [RowRecord(i + 2, f"{prefix}{i}", f"https://docs.test/{url}/{prefix}{i}.jpg", True) for i in range(n)]
    return runtime.ledger.record_upload(UploadRecord("a.csv", "POC_CDL"), rows, chunk_size=chunk_size,
                                        **kwargs).upload_id


def send(runtime, **kwargs):
    """Send until every chunk is answered."""
    kwargs.setdefault("backoff_base", 0.01)
    kwargs.setdefault("backoff_cap", 0.05)
    return send_until_answered(runtime.ledger, runtime.client, worker_id="test", max_wait=30, **kwargs)


def doc_states(runtime) -> dict[str, str]:
    """document_id -> state of the current attempts."""
    return {d["document_id"]: d["state"] for d in runtime.ledger.iter_documents()}


def test_every_document_is_sent_once_in_chunk_sized_batches(runtime, sandbox):
    upload_id = queue(runtime, 45)
    summary = send(runtime, upload_id=upload_id, concurrency=4)
    assert (summary.chunks_sent, summary.documents_sent, len(set(summary.batches))) == (5, 45, 5)
    assert sorted(len(u["items"]) for u in sandbox.received_uploads()) == [5, 10, 10, 10, 10]
    assert sandbox.accept_counts() == {f"D{i}": 1 for i in range(45)}
    assert set(doc_states(runtime).values()) == {S.SUBMITTED}
    rows, total = runtime.ledger.batches_overview(upload_id=upload_id)
    assert total == 5 and sum(r["documents"] for r in rows) == 45


def test_nothing_recorded_as_sent_is_sent_again(runtime, sandbox):
    queue(runtime, 20)
    send(runtime)
    again = send(runtime)
    assert again.chunks_sent == 0
    assert set(sandbox.accept_counts().values()) == {1}


@pytest.mark.parametrize("fault", ["503", "429"])
def test_a_busy_atlas_puts_the_chunk_back_and_nothing_is_lost(runtime, sandbox, fault):
    sandbox.set_behaviour(retry_after=0)
    queue(runtime, 10)
    sandbox.inject(fault, fault, fault, path="/v1/bulk/multiupload")  # beats the client's one retry
    summary = send(runtime)
    assert summary.requeued >= 1 and summary.documents_sent == 10
    assert sandbox.accept_counts() == {f"D{i}": 1 for i in range(10)}
    assert set(doc_states(runtime).values()) == {S.SUBMITTED}


def test_a_connection_dropped_after_acceptance_makes_the_chunk_uncertain(runtime, sandbox):
    queue(runtime, 10)
    sandbox.inject("drop_after_accept", path="/v1/bulk/multiupload")
    summary = send(runtime)
    assert summary.uncertain == 10 and summary.documents_sent == 0
    (chunk,) = runtime.ledger.chunks_in_state(S.UNCERTAIN)
    assert set(doc_states(runtime).values()) == {S.UNCERTAIN}
    assert sandbox.accept_counts() == {f"D{i}": 1 for i in range(10)}  # Atlas did take it
    assert send(runtime).chunks_sent == 0  # and it is never resent on its own


def test_resending_an_uncertain_chunk_is_the_users_choice(runtime, sandbox):
    queue(runtime, 4)
    sandbox.inject("drop_after_accept", path="/v1/bulk/multiupload")
    send(runtime)
    (chunk,) = runtime.ledger.chunks_in_state(S.UNCERTAIN)
    result = resolve_uncertain(runtime.ledger, chunk["id"], "resend", resolved_by="asha")
    assert result.documents == 4 and "sent again" in result.message
    send(runtime)
    assert sandbox.accept_counts() == {f"D{i}": 2 for i in range(4)}
    docs = list(runtime.ledger.iter_documents())
    assert {(d["state"], d["attempt"]) for d in docs} == {(S.SUBMITTED, 2)}


def test_dropping_an_uncertain_chunk_cancels_its_documents(runtime, sandbox):
    queue(runtime, 3)
    sandbox.inject("drop_after_accept", path="/v1/bulk/multiupload")
    send(runtime)
    (chunk,) = runtime.ledger.chunks_in_state(S.UNCERTAIN)
    assert "dropped" in resolve_uncertain(runtime.ledger, chunk["id"], "drop").message
    assert set(doc_states(runtime).values()) == {S.CANCELLED}


def test_a_refused_upload_is_rejected_with_atlas_message(runtime, sandbox):
    sandbox.set_behaviour(max_files_per_upload=5)
    queue(runtime, 8, chunk_size=8)
    summary = send(runtime)
    assert summary.rejected == 8
    (chunk,) = runtime.ledger.chunks_in_state(S.REJECTED)
    assert chunk["error"].startswith("Atlas answered 4")
    assert set(doc_states(runtime).values()) == {S.REJECTED}
    assert sandbox.accept_counts() == {}


def test_expired_tokens_are_renewed_without_losing_a_chunk(runtime, sandbox):
    queue(runtime, 20)
    send(runtime, upload_id=1)
    sandbox.expire_tokens()
    queue(runtime, 20, prefix="E")
    send(runtime)
    assert len(sandbox.accept_counts()) == 40 and set(sandbox.accept_counts().values()) == {1}


def test_bad_credentials_stop_sending_and_keep_the_work_queued(sandbox, sandbox_settings):
    settings = sandbox_settings.replace(client_secret="wrong", max_retries=0)
    with open_runtime(settings) as runtime:
        queue(runtime, 5)
        with pytest.raises(AuthError):
            send_queued(runtime.ledger, runtime.client, worker_id="w")
        assert runtime.ledger.queued_work()["queued"] == 1
        assert set(doc_states(runtime).values()) == {S.QUEUED}


HOSTILE_TOKEN_ENDPOINTS = [
    pytest.param({"token_status": 403}, "answered 403", id="403"),
    pytest.param({"token_status": 404}, "answered 404", id="404"),
    pytest.param({"token_status": 302}, "a redirect to", id="302"),
    pytest.param({"token_crlf": True}, "cannot be sent in an HTTP header", id="crlf-token"),
]


@pytest.mark.parametrize(("switch", "cause"), HOSTILE_TOKEN_ENDPOINTS)
def test_a_token_endpoint_giving_no_token_keeps_the_chunk_queued_with_the_cause(
    runtime, sandbox, switch, cause
):
    sandbox.set_behaviour(**switch)
    queue(runtime, 5)
    with pytest.raises(TokenEndpointError):
        send_queued(runtime.ledger, runtime.client, worker_id="w")  # as the worker sends
    (chunk,) = chunks_of_upload(runtime.ledger, 1)
    assert chunk["state"] == S.QUEUED and cause in chunk["error"]
    assert set(doc_states(runtime).values()) == {S.QUEUED}  # never rejected, never uncertain
    assert sandbox.accept_counts() == {}


@pytest.mark.parametrize(("switch", "cause"), HOSTILE_TOKEN_ENDPOINTS)
def test_no_chunk_is_claimed_when_no_token_can_be_had(runtime, sandbox, switch, cause):
    sandbox.set_behaviour(**switch)
    queue(runtime, 25)
    with pytest.raises(TokenEndpointError, match=cause):
        send(runtime)
    chunks = chunks_of_upload(runtime.ledger, 1)
    assert {(c["state"], c["attempts"], c["error"]) for c in chunks} == {(S.QUEUED, 0, None)}
    assert [line["path"] for line in sandbox.request_log()] == ["/v1/bulk/authtoken"]


def test_a_request_that_cannot_be_built_stops_sending_and_stays_queued(sandbox, sandbox_settings):
    settings = sandbox_settings.replace(client_secret="sandbox\nsecret")  # refused by requests
    with open_runtime(settings) as runtime:
        queue(runtime, 5)
        with pytest.raises(ConnectFailedError, match="was not sent to Atlas"):
            send_queued(runtime.ledger, runtime.client, worker_id="w")
        (chunk,) = chunks_of_upload(runtime.ledger, 1)
        assert chunk["state"] == S.QUEUED and "was not sent" in chunk["error"]
        assert set(doc_states(runtime).values()) == {S.QUEUED}
    assert sandbox.request_log() == []


def test_max_wait_bounds_a_round_against_an_atlas_that_keeps_refusing(sandbox, sandbox_settings):
    # Each upload request retries for seconds and each refused chunk is due again before the
    # others are through: before the deadline reached inside a round, the round never ended.
    sandbox.set_behaviour(rate_503=1.0, fault_paths=("multiupload",), retry_after=None)
    settings = sandbox_settings.replace(max_retries=5, backoff_base=1.0, backoff_cap=1.0)
    with open_runtime(settings) as runtime:
        queue(runtime, 200)
        started = time.monotonic()
        summary = send_until_answered(runtime.ledger, runtime.client, worker_id="t", max_wait=2,
                                      backoff_base=0.1, backoff_cap=0.5)
        # A bound, not a timing: max_wait plus one (instant) request, with a wide margin.
        assert time.monotonic() - started < 2 + 8
        assert summary.requeued >= 1 and summary.documents_sent == 0
        chunks = chunks_of_upload(runtime.ledger, 1)
        assert {c["state"] for c in chunks} == {S.QUEUED}
        assert set(doc_states(runtime).values()) == {S.QUEUED}
        assert any("Atlas answered 503" in (c["error"] or "") for c in chunks)
    assert sandbox.accept_counts() == {}


def test_a_pilot_sends_only_its_rows_and_the_rest_later(runtime, sandbox):
    upload_id = queue(runtime, 10, pilot=3)
    send(runtime)
    assert sorted(sandbox.accept_counts()) == ["D0", "D1", "D2"]
    runtime.ledger.queue_held(upload_id)
    send(runtime)
    assert len(sandbox.accept_counts()) == 10 and set(sandbox.accept_counts().values()) == {1}


def test_cancelled_work_is_never_sent(runtime, sandbox):
    upload_id = queue(runtime, 10)
    runtime.ledger.cancel_queued(upload_id=upload_id)
    assert send(runtime).chunks_sent == 0 and sandbox.accept_counts() == {}


def test_retrying_failed_documents_sends_a_linked_second_attempt(runtime, sandbox):
    queue(runtime, 4, url="ok")
    queue(runtime, 3, prefix="U", url="unreadable")
    send(runtime)
    sandbox.advance(60)
    refresh_batches(runtime.ledger, runtime.client, force=True)
    assert doc_states(runtime) == {**{f"D{i}": S.EXTRACTED for i in range(4)},
                                   **{f"U{i}": S.FAILED for i in range(3)}}
    result = retry_failed(runtime.ledger, upload_id=2)
    assert result.documents == 3
    send(runtime)
    assert {k: v for k, v in sandbox.accept_counts().items() if k.startswith("U")} == {
        "U0": 2, "U1": 2, "U2": 2}
    attempts = [d for d in runtime.ledger.iter_documents(include_superseded=True) if d["document_id"] == "U0"]
    assert [(d["attempt"], d["state"]) for d in attempts] == [(1, S.FAILED), (2, S.SUBMITTED)]
    assert attempts[1]["retry_of"] == attempts[0]["id"]


def test_a_connection_dropped_before_any_answer_is_uncertain_too(runtime, sandbox):
    queue(runtime, 3)
    sandbox.inject("drop", path="/v1/bulk/multiupload")
    summary = send(runtime)
    # The body was sent before the socket closed: Atlas may have it, so it is never resent blindly.
    assert summary.uncertain == 3 and set(doc_states(runtime).values()) == {S.UNCERTAIN}
    assert sandbox.accept_counts() == {}


def test_planning_a_sheet_shows_duplicates_same_file_and_pilot_before_writing(runtime, tmp_path):
    from atlas_core.engine import plan_upload, queue_upload
    from atlas_core.intake import read_spreadsheet, validate_sheet

    path = tmp_path / "docs.csv"
    path.write_text("document_id,file_url\n" + "".join(
        f"P{i},https://docs.test/ok/P{i}.jpg\n" for i in range(6)) + "P9,\n", encoding="utf-8")
    sheet = read_spreadsheet(path)
    report = validate_sheet(sheet)
    plan = plan_upload(runtime.ledger, sheet, report, product_type="POC_CDL", chunk_size=4, pilot=5)
    assert (plan.valid, plan.invalid, plan.to_send, plan.held, plan.chunks) == (6, 1, 5, 1, 2)
    assert runtime.ledger.list_uploads()[1] == 0  # planning writes nothing
    queued = queue_upload(runtime.ledger, plan)
    assert (queued.queued, queued.held, queued.invalid) == (5, 1, 1)
    rows = list(runtime.ledger.iter_upload_rows(queued.upload_id))
    assert rows[-1]["valid"] is False and rows[-1]["problems"] and rows[-1]["original"]["document_id"] == "P9"
    again = plan_upload(runtime.ledger, sheet, report, product_type="POC_CDL", chunk_size=4)
    assert again.duplicate_ids == ("P0", "P1", "P2", "P3", "P4") and again.to_send == 1
    assert again.same_file_uploads == (queued.upload_id,)
    assert "already submitted will be skipped" in again.summary() and "same file" in again.summary()


def test_the_ledger_feeds_reconciliation_end_to_end(runtime, sandbox):
    from atlas_core.results import reconcile

    upload_id = queue(runtime, 4, pilot=3)
    send(runtime)
    sandbox.advance(60)
    refresh_batches(runtime.ledger, runtime.client, force=True)
    report = reconcile(runtime.ledger.iter_upload_rows(upload_id),
                       runtime.ledger.iter_documents(upload_id=upload_id, include_superseded=True))
    counts = report.counts
    assert (counts["rows"], counts["valid"], counts["extracted"]) == (4, 4, 3)


def test_unfinished_work_is_seen_until_every_batch_is_finished(runtime, sandbox):
    from atlas_core.engine import cancel_upload, has_unfinished_work, submit_held

    assert not has_unfinished_work(runtime.ledger)
    upload_id = queue(runtime, 3, pilot=1)
    assert has_unfinished_work(runtime.ledger, upload_id)  # queued
    send(runtime)
    assert has_unfinished_work(runtime.ledger, upload_id)  # sent, no result yet
    sandbox.advance(60)
    refresh_batches(runtime.ledger, runtime.client, force=True)
    assert not has_unfinished_work(runtime.ledger, upload_id)
    held = submit_held(runtime.ledger, upload_id)
    assert held.documents == 2 and "2 held document(s)" in held.message
    assert has_unfinished_work(runtime.ledger)
    cancelled = cancel_upload(runtime.ledger, upload_id)
    assert cancelled.documents == 2 and not has_unfinished_work(runtime.ledger)
