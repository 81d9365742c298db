"""The background Worker, orphan recovery, the runtime, and the headless `worker` command."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ledger_support import chunks_of_upload
from pg_support import ledger_env, settings_on

from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Settings
from atlas_core.engine import (
    Worker,
    open_runtime,
    recover_orphans,
    refresh_batches,
    send_until_answered,
)
from atlas_core.ledger import Ledger, RowRecord, UploadRecord
from atlas_core.ledger import states as S


@pytest.fixture
def sandbox_settings(sandbox_settings, ledger_location):
    """The shared sandbox settings with the ledger on each engine in turn (SQLite, PostgreSQL)."""
    return settings_on(sandbox_settings, ledger_location)


ROOT = Path(__file__).resolve().parents[1]


def queue(ledger: Ledger, ids: list[str], chunk_size: int = 5) -> int:
    """Record an upload of ``ids``; return its id."""
    rows = [RowRecord(i + 2, d, f"https://docs.test/ok/{d}.jpg", True) for i, d in enumerate(ids)]
    return ledger.record_upload(UploadRecord("a.csv", "POC_CDL"), rows, chunk_size=chunk_size).upload_id


def wait_for(condition, timeout: float = 30.0) -> bool:
    """Poll ``condition`` until true or ``timeout`` (a guard against hanging, not a timed assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def runtime(sandbox_settings):
    """A runtime on the sandbox fixture."""
    with open_runtime(sandbox_settings) as rt:
        yield rt


def test_the_worker_submits_and_refreshes_until_everything_is_extracted(runtime, sandbox):
    worker = Worker(runtime, idle_wait=0.2).start()
    try:
        queue(runtime.ledger, [f"W{i}" for i in range(12)])
        worker.wake()
        assert wait_for(lambda: runtime.ledger.due_batches(all_unfinished=True))
        sandbox.advance(60)
        worker.refresh_now()  # the first scheduled poll would come seconds later
        assert wait_for(lambda: {d["state"] for d in runtime.ledger.iter_documents()} == {S.EXTRACTED})
        # The worker counts a refresh's polls when the refresh returns, after its results are
        # stored: the documents can read extracted a moment before the count moves.
        assert wait_for(lambda: worker.status().batches_polled >= 3)
        status = worker.status()
        assert status.alive and status.documents_sent == 12 and status.last_error is None
        (row,) = runtime.ledger.workers()
        assert (row["id"], row["pid"]) == (worker.identity.worker_id, os.getpid())
    finally:
        worker.stop()
    assert not worker.alive and runtime.ledger.workers() == []
    worker.stop()  # idempotent
    assert set(sandbox.accept_counts().values()) == {1}


def test_the_worker_survives_errors_and_reports_them(sandbox, sandbox_settings):
    settings = sandbox_settings.replace(client_secret="wrong", max_retries=0)
    with open_runtime(settings) as runtime:
        queue(runtime.ledger, ["X1"])
        worker = Worker(runtime, idle_wait=0.1, error_wait=0.1).start()
        try:
            assert wait_for(lambda: worker.last_error is not None)
            assert worker.alive and "client id and secret" in worker.last_error
            assert "wrong" not in worker.last_error
            assert wait_for(lambda: runtime.ledger.workers()[0]["last_error"] is not None)
        finally:
            worker.stop()
        assert runtime.ledger.queued_work()["queued"] == 1  # nothing lost


def test_a_dead_process_leaves_its_chunk_uncertain(ledger_location):
    ledger = Ledger(ledger_location)
    queue(ledger, ["a", "b", "c", "d"], chunk_size=1)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    host = socket.gethostname()
    ledger.register_worker("dead", host=host, pid=int(dead.stdout), now=time.time())
    ledger.register_worker("alive", host=host, pid=os.getpid(), now=time.time())
    ledger.register_worker("silent", host="elsewhere", pid=1, now=time.time() - 3600)
    ledger.register_worker("far", host="elsewhere", pid=1, now=time.time())
    # PostgreSQL judges by presence locks: the live ones hold theirs (the dead one's went with it);
    # a silent one holding its lock is still gone by its heartbeat. SQLite has no locks (None).
    locks = [ledger.hold_worker_lock(w) for w in ("alive", "silent", "far")]
    claims = {w: ledger.claim_chunk(w).chunk_id for w in ("dead", "alive", "silent", "far")}
    assert recover_orphans(ledger, timeout=120) == 2
    states = {c["id"]: c["state"] for c in chunks_of_upload(ledger, 1)}
    assert states == {claims["dead"]: S.UNCERTAIN, claims["alive"]: S.SENDING,
                      claims["silent"]: S.UNCERTAIN, claims["far"]: S.SENDING}
    for lock in locks:
        if lock is not None:
            lock.release()


def test_the_runtime_starts_a_sandbox_whose_batches_outlive_it(tmp_path):
    settings = Settings(db_path=str(tmp_path / "data" / "atlas.db"),
                        sandbox_state_path=str(tmp_path / "data" / "sandbox.jsonl"))
    with open_runtime(settings, sandbox_behaviour={"processing_seconds": 0.0}) as first:
        assert first.uses_sandbox and "sandbox" in first.banner and first.settings.base_url
        queue(first.ledger, ["R1", "R2"])
        (batch_id,) = send_until_answered(first.ledger, first.client, worker_id="t").batches
    with open_runtime(settings, sandbox_behaviour={"processing_seconds": 0.0}) as second:
        assert second.sandbox is not first.sandbox and len(second.sandbox.truth(batch_id)) == 2
        summary = refresh_batches(second.ledger, second.client, force=True)
        assert summary.finished == 1 and second.ledger.batch(batch_id)["extracted"] == 2


def test_a_runtime_with_a_base_url_starts_no_sandbox(sandbox_settings):
    with open_runtime(sandbox_settings) as runtime:
        assert runtime.sandbox is None and runtime.banner is None
        assert runtime.client is runtime.client  # built once


@pytest.mark.slow
def test_the_worker_command_runs_until_sigterm(sandbox, ledger_location):
    db_path = ledger_location
    ledger = Ledger(db_path)
    queue(ledger, ["H1", "H2"])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ATLAS_BASE_URL": sandbox.url,
           "ATLAS_CLIENT_ID": SANDBOX_CLIENT_ID, "ATLAS_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
           **ledger_env(db_path)}
    proc = subprocess.Popen([sys.executable, "-m", "atlas_core", "worker"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: {d["state"] for d in ledger.iter_documents()} == {S.EXTRACTED}, 60)
        assert len(ledger.workers()) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "worker stopped" in err and ledger.workers() == []


def test_a_worker_in_another_container_is_not_judged_by_a_pid_of_this_one(tmp_path):
    """Containers share host names and pids: only the heartbeat tells about a worker elsewhere."""
    from atlas_core.engine.identity import process_scope

    ledger = Ledger(tmp_path / "atlas.db")
    queue(ledger, ["a", "b"], chunk_size=1)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    host, pid = socket.gethostname(), int(dead.stdout)  # that pid is not running here
    here = process_scope()
    assert here is not None  # Linux: the boot id and pid namespace are known
    ledger.register_worker("other-container", host=host, pid=pid, now=time.time(),
                           process_scope="another-boot/pid:[1]")
    ledger.register_worker("this-container", host=host, pid=pid, now=time.time(),
                           process_scope=here)
    claims = {w: ledger.claim_chunk(w).chunk_id for w in ("other-container", "this-container")}
    assert recover_orphans(ledger, timeout=120) == 1
    states = {c["id"]: c["state"] for c in chunks_of_upload(ledger, 1)}
    assert states == {claims["other-container"]: S.SENDING,
                      claims["this-container"]: S.UNCERTAIN}
