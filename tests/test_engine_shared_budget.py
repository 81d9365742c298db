"""The shared submit budget: leases in the ledger cap the requests in flight across all workers.

The cap holds across real processes (three ``python -m atlas_core worker`` services against one
sandbox that counts the multiuploads it is answering at once), and a killed holder's slots come
back once its leases expire.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request

import pytest
from pg_support import ledger_env
from test_engine_worker import ROOT, queue, wait_for
from test_worker_resilience import start_worker, worker_env

from atlas_core.engine.budget import SubmitBudget
from atlas_core.ledger import Ledger
from atlas_core.ledger import states as S


def control(url: str, path: str, body: dict | None = None) -> dict:
    """Call a sandbox control over HTTP (GET without a body, POST with one)."""
    data = None if body is None else json.dumps(body).encode()
    with urllib.request.urlopen(urllib.request.Request(url + path, data=data), timeout=10) as r:
        return json.loads(r.read())


def test_slots_are_shared_up_to_the_budget_and_given_back(tmp_path):
    ledger, other = Ledger(tmp_path / "atlas.db"), Ledger(tmp_path / "atlas.db")
    assert ledger.acquire_lease("a", 2) == 1
    assert other.acquire_lease("b", 2) == 2
    assert other.acquire_lease("c", 2) is None  # full: a third never gets in
    assert ledger.acquire_lease("c", 3) == 3  # a larger budget elsewhere counts every lease
    assert other.acquire_lease("d", 3) is None
    ledger.release_lease("a", 1)
    ledger.release_lease("b", 1)  # not b's: nothing happens
    assert other.acquire_lease("d", 2) is None  # b and c still hold two: a budget of 2 is full
    assert other.acquire_lease("d", 3) == 1
    assert ledger.renew_leases("d") == 1 and ledger.release_all_leases("c") == 1
    ledger.stop_worker("d")  # a worker stopping gives its leases back
    assert ledger.leases_in_use() == 1  # b's


def test_an_expired_lease_is_taken_over(tmp_path):
    ledger = Ledger(tmp_path / "atlas.db")
    assert ledger.acquire_lease("gone", 1, ttl=-1.0) == 1  # expired at once: as if never renewed
    assert ledger.acquire_lease("alive", 1) == 1
    assert ledger.renew_leases("gone") == 0


HOLD_AND_HANG = """
import sys, time
from atlas_core.ledger import Ledger
ledger = Ledger(sys.argv[1])
held = [ledger.acquire_lease("doomed", 2, ttl=3.0) for _ in range(2)]
print(held, flush=True)
while True:  # renews like a live worker's heartbeat, until killed
    ledger.renew_leases("doomed", ttl=3.0)
    time.sleep(0.5)
"""


@pytest.mark.slow
def test_a_killed_holders_slots_come_back(tmp_path):
    db = tmp_path / "atlas.db"
    Ledger(db)
    proc = subprocess.Popen([sys.executable, "-c", HOLD_AND_HANG, str(db)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "[1, 2]"
        ledger = Ledger(db)
        assert ledger.acquire_lease("next", 2) is None  # held, and renewed while it lives
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert wait_for(lambda: ledger.acquire_lease("next", 2) is not None, 60)


def test_a_lane_waiting_for_a_slot_gives_up_when_no_work_is_left(tmp_path):
    ledger = Ledger(tmp_path / "atlas.db")
    ledger.acquire_lease("busy", 1)
    budget = SubmitBudget(ledger, "me", 1)
    with budget.slot(still_wanted=lambda: False) as slot:
        assert slot is None
    assert budget.peak_waiters == 1 and ledger.leases_in_use() == 1


@pytest.mark.slow
def test_three_worker_processes_never_have_more_in_flight_than_the_budget(
    make_sandbox, tmp_path, ledger_location
):
    # Each multiupload takes 0.3 s, so lanes of all three workers overlap.
    sandbox = make_sandbox(latency=0.3, fault_paths=("multiupload",))
    ledger = Ledger(ledger_location)
    ids = [f"B{i:03d}" for i in range(80)]
    queue(ledger, ids, chunk_size=2)  # 40 requests
    env = {**worker_env(sandbox.url, tmp_path / "unused.db"), **ledger_env(ledger_location),
           "ATLAS_MAX_IN_FLIGHT": "3", "ATLAS_SUBMIT_CONCURRENCY": "4"}
    procs = [start_worker(env, tmp_path / f"worker{i}.log") for i in range(3)]
    try:
        assert wait_for(lambda: {d["state"] for d in ledger.iter_documents()}
                        <= {S.SUBMITTED, S.EXTRACTED}, 120)
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)
    logs = [(tmp_path / f"worker{i}.log").read_text() for i in range(3)]
    assert [p.returncode for p in procs] == [0, 0, 0], logs
    seen = control(sandbox.url, "/_sandbox/concurrency")
    assert seen["in_flight"] == 0
    assert seen["peak"] == 3, seen  # the budget, used in full and never exceeded
    assert sandbox.accept_counts() == {i: 1 for i in ids}
    assert ledger.leases_in_use() == 0  # each stopped worker gave its slots back
