"""Whether Atlas answers (issue 12): the worker's token probe over a real socket, the sentence an
upload shows while it waits, and the one rule that tells failures to fix from failures to retry."""

from __future__ import annotations

import socket

import pytest
from pg_support import settings_on
from test_engine_worker import wait_for

from atlas_core.engine import Worker, open_runtime
from atlas_core.engine.health import OK, REFUSED, UNREACHABLE, AtlasHealth, waiting_sentence
from atlas_core.ledger import Ledger, RowRecord, UploadRecord
from atlas_core.results.failures import FIX, RETRY, explain_failures, failure_kind
from atlas_core.sandbox.documents import outcome_for, temporary


@pytest.fixture
def sandbox_settings(sandbox_settings, ledger_location):
    """The shared sandbox settings with the ledger on each engine in turn (SQLite, PostgreSQL)."""
    return settings_on(sandbox_settings, ledger_location)


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def queue(ledger: Ledger, ids: list[str]) -> int:
    """Record an upload of ``ids``; return its id."""
    rows = [RowRecord(i + 2, d, f"https://docs.test/ok/{d}.jpg", True) for i, d in enumerate(ids)]
    return ledger.record_upload(UploadRecord("a.csv", "POC_CDL"), rows, chunk_size=5).upload_id


def test_the_worker_asks_atlas_for_a_token_on_start_and_says_when_it_cannot_be_reached(tmp_path):
    from atlas_core.config import Settings

    settings = Settings(base_url=f"http://127.0.0.1:{closed_port()}", client_id="c",
                        client_secret="s", db_path=str(tmp_path / "atlas.db"), max_retries=0,
                        backoff_base=0.1)
    with open_runtime(settings) as runtime:
        worker = Worker(runtime, idle_wait=0.2).start()
        try:
            assert wait_for(lambda: worker.status().atlas is not None)
            health = worker.status().atlas
            assert health.state == UNREACHABLE and "refused" in health.reason
            assert "waiting for Atlas" in worker.status().describe()
            (row,) = runtime.ledger.workers()
            assert row["last_error"].startswith("Can't reach Atlas")  # other processes see it too
            upload_id = queue(runtime.ledger, ["A1", "A2"])
            worker.wake()
            assert wait_for(lambda: runtime.ledger.sending_trouble(upload_id)["attempts"] >= 2)
            sentence = waiting_sentence(worker.status().atlas, runtime.ledger.sending_trouble(upload_id))
            assert sentence.startswith("Can't reach Atlas: connection refused; ")
            assert " tries; next " in sentence
        finally:
            worker.stop()


def test_the_probe_tells_refused_credentials_and_a_good_answer(sandbox, sandbox_settings):
    with open_runtime(sandbox_settings) as runtime:
        worker = Worker(runtime, idle_wait=0.2)
        assert worker.probe().state == OK
        sandbox.set_behaviour(refuse_credentials=True)
        refused = worker.probe()
        assert refused.state == REFUSED and worker.status().atlas == refused
        sandbox.set_behaviour(refuse_credentials=False)
        assert worker.probe().ok


def test_the_waiting_sentence_counts_tries_and_says_when_next():
    trouble = {"queued": 1, "requests": 1, "attempts": 8, "next_due": 1030.0,
               "error": "Could not connect to Atlas at http://x: the connection was refused."}
    health = AtlasHealth(UNREACHABLE, "Could not connect", 1000.0)
    assert (waiting_sentence(health, trouble, now=1000.0)
            == "Can't reach Atlas: connection refused; 8 tries; next in 30 s")
    refused = AtlasHealth(REFUSED, "The token endpoint refused the client (403)", 1000.0)
    assert (waiting_sentence(refused, {**trouble, "next_due": 1000.0}, now=1000.0, resume_at=1120.0)
            == "Atlas refused the credentials: The token endpoint refused the client (403); 8 tries; "
               "next in 2 min")
    assert waiting_sentence(health, {"queued": 0, "requests": 0}, now=1000.0) is None


@pytest.mark.parametrize(("error", "kind"), [
    ("The file could not be downloaded from file_url or is not a valid document. (code INVALID_DOC)", FIX),
    ("The document image could not be read or its type was not recognised. (code UNRECOGNISED)", FIX),
    ("Atlas reported error code UNSUPPORTED_TYPE.", FIX),
    ("Processing timed out on our side; please try again later. (code TIMEOUT)", RETRY),
    ("Atlas returned no data for this document.", RETRY),
    ("Internal server error", RETRY),
    (None, RETRY),
])
def test_one_rule_splits_fix_the_file_from_retry_may_help(error, kind):
    assert failure_kind(error) == kind


def test_failures_are_counted_by_reason_most_first():
    found = explain_failures([{"error": "timed out (code TIMEOUT)", "documents": 2},
                              {"error": "INVALID_DOC", "documents": 5}])
    assert [(r.documents, r.kind) for r in found] == [(5, FIX), (2, RETRY)]


def test_the_sandbox_plays_temporary_failures_for_a_share_of_the_failed_documents():
    failed = [(f"D{i}", f"https://docs.test/ok/D{i}.jpg") for i in range(400)]
    failed = [(d, u, outcome_for(d, u, fail_rate=1.0)) for d, u in failed]
    codes = [temporary(o, d, u, 0.5).error_code for d, u, o in failed]
    assert 100 < codes.count("TIMEOUT") < 300
    assert {temporary(o, d, u, 0.0).error_code for d, u, o in failed} <= {"UNRECOGNISED", "INVALID_DOC"}


def test_temporary_fail_share_is_switched_over_the_http_control(make_sandbox):
    import requests
    from sandbox_http import TIMEOUT, all_items, submit

    server = make_sandbox(processing_seconds=0.0, fail_rate=1.0)
    control = f"{server.url}/_sandbox/behaviour"
    assert requests.post(control, json={"temporary_fail_share": 1.0}, timeout=TIMEOUT).status_code == 200
    tok, batch_id = submit(server, 6)
    server.advance(60)
    assert {i.get("error_code") for i in all_items(server, tok, batch_id)} == {"TIMEOUT"}
    assert requests.post(control, json={"temporary_fail_share": 2}, timeout=TIMEOUT).status_code == 400
