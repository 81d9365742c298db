"""One ledger, many processes, on both engines: claims, intake, leases, signals and presence.

Each multi-process test starts real processes (tests/shared_ledger_child.py) that wait for a
start file, so they run at once; the ledger is a SQLite file or a fresh PostgreSQL database.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from test_engine_worker import queue, wait_for

from atlas_core.engine import recover_orphans
from atlas_core.engine.fleet import known_workers
from atlas_core.ledger import Ledger
from atlas_core.ledger import states as S

ROOT = Path(__file__).resolve().parents[1]
CHILD = str(Path(__file__).resolve().parent / "shared_ledger_child.py")


def run_children(jobs: list[list[str]], go: Path, timeout: float = 300) -> None:
    """Start one child per job, let them all go at once, and wait for each to end well."""
    procs = [subprocess.Popen([sys.executable, CHILD, *job], cwd=ROOT, stderr=subprocess.PIPE,
                              text=True, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
             for job in jobs]
    go.write_text("go")
    for proc in procs:
        _, err = proc.communicate(timeout=timeout)
        assert proc.returncode == 0, err


@pytest.mark.slow
def test_four_processes_of_four_lanes_claim_each_of_2000_chunks_once(ledger_location, tmp_path):
    ledger = Ledger(ledger_location)
    queue(ledger, [f"C{i:04d}" for i in range(2000)], chunk_size=1)
    go = tmp_path / "go"
    outs = [tmp_path / f"claims{p}.json" for p in range(4)]
    run_children([["claim", ledger_location, f"p{p}", "4", str(go), str(outs[p])]
                  for p in range(4)], go)
    lanes = [lane for out in outs for lane in json.loads(out.read_text())]
    assert len(lanes) == 16
    taken = Counter(c for lane in lanes for c in lane["chunks"])
    assert len(taken) == 2000 and set(taken.values()) == {1}  # each claimed once
    # No lane stopped early: when its claim came back empty, at most the chunks the other 15
    # lanes were claiming at that moment (skipped, being locked) could still read as queued.
    assert max(lane["queued_after"] for lane in lanes) <= 15
    assert ledger.queued_work()["queued"] == 0
    assert sum(1 for lane in lanes if lane["chunks"]) >= 8  # the work was shared, not serial
    assert {d["state"] for d in ledger.iter_documents()} == {S.SUBMITTED}


@pytest.mark.slow
def test_two_simultaneous_uploads_of_the_same_ids_queue_them_once(ledger_location, tmp_path):
    Ledger(ledger_location, target="sandbox")
    sheet = tmp_path / "same.csv"
    sheet.write_text("document_id,file_url\n" + "".join(
        f"S{i},https://bucket.s3.amazonaws.com/S{i}.jpg\n" for i in range(200)))
    go = tmp_path / "go"
    outs = [tmp_path / f"upload{k}.json" for k in range(2)]
    run_children([["upload", ledger_location, str(sheet), str(go), str(out)] for out in outs], go)
    answers = [json.loads(out.read_text()) for out in outs]
    ledger = Ledger(ledger_location)
    queued = Counter(d["document_id"] for d in ledger.iter_documents())
    assert len(queued) == 200 and set(queued.values()) == {1}, answers
    # The later one was refused, or recorded with those rows skipped as already submitted.
    for answer in answers:
        assert "upload_id" in answer or "submitted since it was checked" in answer["error"]


def test_slots_are_shared_up_to_the_budget_on_both_engines(ledger_location):
    ledger, other = Ledger(ledger_location), Ledger(ledger_location)
    assert ledger.acquire_lease("a", 2) == 1
    assert other.acquire_lease("b", 2) == 2
    assert other.acquire_lease("c", 2) is None
    assert ledger.acquire_lease("gone", 3, ttl=-1.0) == 3  # expired at once
    assert other.acquire_lease("c", 3) == 3  # the expired lease is taken over
    assert ledger.renew_leases("gone") == 0 and ledger.renew_leases("c") == 1
    ledger.stop_worker("c")
    assert other.leases_in_use() == 2


def test_signals_count_up_on_both_engines(ledger_location):
    ledger = Ledger(ledger_location)
    before = Ledger(ledger_location).signal_serials()
    assert ledger.send_signal("refresh") == before["refresh"] + 1
    assert Ledger(ledger_location).signal_serials() == {**before, "refresh": before["refresh"] + 1}


def test_postgres_wakes_a_listener_at_once(postgres_cluster):
    url = postgres_cluster.fresh_database()
    ledger = Ledger(url)
    listener = ledger.signal_listener()
    try:
        assert listener.wait(0.01) is False  # connects and listens; nothing sent yet
        Ledger(url).send_signal("work")
        assert listener.wait(60) is True  # returns on the notification, not after 60 s
    finally:
        listener.close()


@pytest.mark.slow
def test_postgres_tells_a_live_worker_from_a_killed_one_by_its_lock(postgres_cluster, tmp_path):
    url = postgres_cluster.fresh_database()
    ledger = Ledger(url)
    queue(ledger, ["K1", "K2"], chunk_size=1)
    procs = {w: subprocess.Popen([sys.executable, CHILD, "hold", url, w], cwd=ROOT,
                                 stdout=subprocess.PIPE, text=True,
                                 env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
             for w in ("alive0000001", "killed000002")}
    try:
        for proc in procs.values():
            assert proc.stdout.readline().strip() == "held"
        claims = {w: ledger.claim_chunk(w).chunk_id for w in procs}
        assert ledger.live_workers(sorted(procs)) == set(procs)
        procs["killed000002"].send_signal(signal.SIGKILL)
        procs["killed000002"].wait(timeout=30)
        # Its session ends with the process: the lock goes, whatever the heartbeat says.
        assert wait_for(lambda: ledger.live_workers(sorted(procs)) == {"alive0000001"}, 60)
        assert recover_orphans(ledger) == 1
        states = {c["id"]: c["state"] for c in ledger.chunks_in_state(S.UNCERTAIN)}
        assert states == {claims["killed000002"]: S.UNCERTAIN}
        views = {v.worker_id: v.alive for v in known_workers(ledger)}
        assert views == {"alive0000001": True, "killed000002": False}
    finally:
        for proc in procs.values():
            proc.kill()
            proc.wait(timeout=30)


def test_postgres_skips_a_chunk_another_transaction_holds(postgres_cluster):
    """A lane of another process mid-claim holds its chunk's row: the next claim takes the next
    chunk at once instead of waiting for it (and then finding it taken)."""
    import threading

    import psycopg

    url = postgres_cluster.fresh_database()
    ledger = Ledger(url)
    queue(ledger, ["L1", "L2"], chunk_size=1)
    first, second = sorted(c["id"] for c in ledger.chunks_in_state(S.QUEUED))
    with psycopg.connect(url) as other:  # a transaction left open, holding the first chunk's row
        other.execute("SELECT id FROM chunks WHERE id = %s FOR UPDATE", (first,))
        got: list = []
        claimer = threading.Thread(target=lambda: got.append(ledger.claim_chunk("lane")))
        claimer.start()
        claimer.join(timeout=60)  # a guard: without SKIP LOCKED it waits for `other` for ever
        assert not claimer.is_alive(), "the claim waited for the row another transaction holds"
        other.rollback()
    assert got[0].chunk_id == second
    assert ledger.claim_chunk("lane").chunk_id == first  # free again once that transaction ends


@pytest.mark.slow
def test_the_same_uncertain_request_resolved_twice_at_once_is_resent_once(ledger_location, tmp_path):
    ledger = Ledger(ledger_location)
    queue(ledger, ["R1", "R2"], chunk_size=2)
    chunk = ledger.claim_chunk("w")
    ledger.record_chunk_failure(chunk.chunk_id, S.UNCERTAIN, "no answer")
    go, outs = tmp_path / "go", [tmp_path / f"resolve{k}.json" for k in range(2)]
    run_children([["decide", ledger_location, "resolve", str(chunk.chunk_id), str(go), str(out)]
                  for out in outs], go)
    answers = [json.loads(out.read_text()) for out in outs]
    assert sorted("done" in a for a in answers) == [False, True], answers
    assert "not waiting for a decision" in next(a["error"] for a in answers if "error" in a)
    assert len(ledger.chunks_in_state(S.QUEUED)) == 1  # one resend, not two
    assert sorted(d["document_id"] for d in ledger.iter_documents()) == ["R1", "R2"]


@pytest.mark.slow
def test_failed_documents_retried_twice_at_once_are_queued_once(ledger_location, tmp_path):
    ledger = Ledger(ledger_location)
    upload_id = queue(ledger, ["T1", "T2"], chunk_size=2)
    chunk = ledger.claim_chunk("w")
    ledger.record_sent(chunk.chunk_id, [("b1", "T1", "u1"), ("b1", "T2", "u2")])
    with ledger.transaction() as db:  # Atlas said both failed
        db.execute("UPDATE documents SET state = ? WHERE upload_id = ?", [S.FAILED, upload_id])
    go, outs = tmp_path / "go", [tmp_path / f"retry{k}.json" for k in range(2)]
    run_children([["decide", ledger_location, "retry", str(upload_id), str(go), str(out)]
                  for out in outs], go)
    answers = sorted(json.loads(out.read_text())["done"] for out in outs)
    assert answers == [0, 2]  # the second found nothing left to retry
    live = Counter(d["document_id"] for d in ledger.iter_documents() if d["state"] == S.QUEUED)
    assert live == {"T1": 1, "T2": 1}
