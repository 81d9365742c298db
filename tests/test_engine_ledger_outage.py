"""A ledger that fails for a moment mid-send (a PostgreSQL restart, a worker's connection cut),
found by the PostgreSQL soak (benchmarks/soak.py --engine postgresql).

Each test runs on both engines; the failures come from a real ledger whose chosen methods really
raise LedgerError for their first calls (tests/test_worker_resilience.py's FlakyLedger), as the
PostgreSQL store raises when its server is gone.
"""

from __future__ import annotations

import os
import signal

import psycopg
import pytest
from pg_support import settings_on
from test_engine_worker import queue, wait_for
from test_worker_resilience import FlakyLedger, start_worker, worker_env

from atlas_core.engine import Runtime, Worker
from atlas_core.engine import submitting as submitting_module
from atlas_core.engine.budget import SubmitBudget
from atlas_core.errors import LedgerError
from atlas_core.ledger import Ledger
from atlas_core.ledger import states as S

GONE = LedgerError("The ledger database could not be written: server closed the connection.")


def test_a_slot_whose_give_back_failed_is_given_back_at_the_next_look(ledger_location):
    ledger = FlakyLedger(ledger_location, {"release_lease": (1, GONE)})
    # A long ttl, as a live worker's heartbeat keeps renewing every lease it holds.
    budget = SubmitBudget(ledger, "worker-1", 1, ttl=600)
    with budget.slot(still_wanted=lambda: True) as first:
        assert first == 1
    assert ledger.raised == ["release_lease"]
    looks: list[int] = []

    def wanted() -> bool:
        looks.append(1)
        return len(looks) < 4

    with budget.slot(still_wanted=wanted) as second:
        assert second == 1  # before the fix: None, the leaked slot held for ever by its own worker
    assert ledger.leases_in_use() == 0


def test_receipts_are_recorded_once_the_ledger_is_back(ledger_location, sandbox, sandbox_settings,
                                                      monkeypatch):
    monkeypatch.setattr(submitting_module, "RECORD_RETRY_SECONDS", 30.0)
    ledger = FlakyLedger(ledger_location, {"record_sent_and_claim": (1, GONE),
                                           "record_sent": (2, GONE)})
    queue(ledger, ["R1", "R2"], chunk_size=2)
    runtime = Runtime(settings_on(sandbox_settings, ledger_location), ledger)
    summary = submitting_module.send_queued(ledger, runtime.client, worker_id="w1", concurrency=1)
    assert ledger.raised == ["record_sent_and_claim", "record_sent", "record_sent"]
    # Atlas's answer was recorded, not thrown away as 'uncertain' (before the fix: uncertain).
    assert {d["state"] for d in Ledger(ledger_location).iter_documents()} == {S.SUBMITTED}
    assert summary.documents_sent == 2 and sandbox.accept_counts() == {"R1": 1, "R2": 1}


@pytest.mark.slow
def test_a_chunk_left_sending_by_a_ledger_failure_ends_uncertain_while_the_worker_lives(
    ledger_location, sandbox_settings, monkeypatch
):
    # Recording fails past the retry window, and marking it uncertain fails too (the ledger is
    # still down): the chunk says 'sending' under a live worker, which recover_orphans never takes.
    monkeypatch.setattr(submitting_module, "RECORD_RETRY_SECONDS", 0.0)
    ledger = FlakyLedger(ledger_location, {"record_sent_and_claim": (1, GONE),
                                           "record_sent": (1, GONE),
                                           "record_chunk_failure": (1, GONE)})
    queue(ledger, ["S1", "S2"], chunk_size=2)
    # The worker's ledger fails as a restarting server would.
    runtime = Runtime(settings_on(sandbox_settings, ledger_location), ledger)
    worker = Worker(runtime, idle_wait=0.1, error_wait=0.1, error_wait_cap=0.2).start()
    try:
        settled = wait_for(lambda: {d["state"] for d in ledger.iter_documents()} == {S.UNCERTAIN}, 30)
        assert settled, [d["state"] for d in ledger.iter_documents()]
        assert worker.status().alive
    finally:
        worker.stop()
    assert ledger.sending_chunks() == []
    assert len(ledger.chunks_in_state(S.UNCERTAIN)) == 1


@pytest.mark.slow
def test_the_worker_command_waits_for_its_database_at_start_rather_than_ending(
    postgres_cluster, sandbox, tmp_path
):
    # The database is not there yet (as during a restart, or a server still booting).
    name = f"late_{os.getpid()}"
    url = postgres_cluster.url(name)
    log = tmp_path / "worker.log"
    proc = start_worker({**worker_env(sandbox.url, tmp_path / "unused.db"),
                         "ATLAS_DATABASE_URL": url}, log)
    try:
        assert wait_for(lambda: "Trying again" in log.read_text() or proc.poll() is not None, 60)
        assert proc.poll() is None, log.read_text()  # before the fix: ended with "error: ..."
        with psycopg.connect(postgres_cluster.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        assert wait_for(lambda: "running" in log.read_text(), 60), log.read_text()
        assert [w["kind"] for w in Ledger(url).workers()] == ["worker"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0, log.read_text()
    assert "Traceback" not in log.read_text()
