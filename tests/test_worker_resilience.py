"""A worker outlives every error: refused credentials pause it, a bug restarts its loop, and only
SIGTERM/SIGINT (or a configuration error at start) ends ``python -m atlas_core worker``.

Everything runs against the sandbox over a real socket and a real SQLite ledger; the failures
come from the sandbox's ``refuse_credentials`` switch or from a ledger whose methods really raise.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from test_engine_worker import queue, wait_for

from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from atlas_core.engine import Runtime, Worker, open_runtime
from atlas_core.ledger import Ledger
from atlas_core.ledger import states as S

ROOT = Path(__file__).resolve().parents[1]
FAST = {"idle_wait": 0.1, "error_wait": 0.1, "error_wait_cap": 0.5}


def states(ledger: Ledger) -> set[str]:
    """The states of every current document."""
    return {d["state"] for d in ledger.iter_documents()}


def control(url: str, path: str, body: dict) -> dict:
    """POST to one of the sandbox's HTTP controls, as a test in another process would."""
    request = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback only
        return json.load(response)


class FlakyLedger(Ledger):
    """A real ledger whose chosen methods raise for their first ``times`` calls (a broken dependency)."""

    def __init__(self, path: Path, failures: dict[str, tuple[int, Exception]]) -> None:
        super().__init__(path)
        self.failures = dict(failures)
        self.raised: list[str] = []

    def __getattribute__(self, name: str):
        failures = object.__getattribute__(self, "__dict__").get("failures", {})
        if name in failures:
            left, error = failures[name]
            if left > 0:
                failures[name] = (left - 1, error)

                def broken(*args, **kwargs):
                    self.raised.append(name)
                    raise error

                return broken
        return object.__getattribute__(self, name)


def test_refused_credentials_pause_the_worker_and_the_work_finishes_once_they_work_again(
    sandbox, sandbox_settings
):
    with open_runtime(sandbox_settings) as runtime:
        worker = Worker(runtime, **FAST).start()
        try:
            sandbox.set_behaviour(refuse_credentials=True)
            queue(runtime.ledger, [f"P{i}" for i in range(6)], chunk_size=2)
            worker.wake()
            assert wait_for(lambda: worker.status().state == "paused")
            status = worker.status()
            assert status.alive and status.reason == "Atlas refused the credentials"
            assert status.next_try_at is not None and "next try at" in status.describe()
            assert SANDBOX_CLIENT_SECRET not in status.describe() + (status.last_error or "")
            assert states(runtime.ledger) == {S.QUEUED}  # nothing rejected, nothing lost
            assert sandbox.accept_counts() == {}

            sandbox.set_behaviour(refuse_credentials=False)
            assert wait_for(lambda: runtime.ledger.due_batches(all_unfinished=True))
            sandbox.advance(60)
            worker.refresh_now()
            assert wait_for(lambda: states(runtime.ledger) == {S.EXTRACTED})
            assert worker.alive and worker.status().state == "running"
            assert worker.status().describe().startswith("Background worker: running")
        finally:
            worker.stop()
    assert set(sandbox.accept_counts().values()) == {1}


def test_refusing_credentials_expires_live_tokens_and_clearing_lets_new_ones_work(sandbox):
    from sandbox_http import CREDENTIALS, items, token, upload

    live = token(sandbox)
    control(sandbox.url, "/_sandbox/behaviour", {"refuse_credentials": True})
    assert upload(sandbox, live, items(1)).status_code == 401
    refused = urllib.request.Request(sandbox.url + "/v1/bulk/authtoken", method="POST",
                                     headers=CREDENTIALS)
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(refused, timeout=30)  # noqa: S310 - loopback only
    assert answer.value.code == 401
    with pytest.raises(urllib.error.HTTPError) as answer:
        control(sandbox.url, "/_sandbox/behaviour", {"refuse_credentials": "no"})
    assert answer.value.code == 400  # a switch is true or false, never a truthy string
    control(sandbox.url, "/_sandbox/behaviour", {"refuse_credentials": False})
    assert upload(sandbox, token(sandbox), items(1)).status_code == 201


def test_the_sandbox_starts_refusing_by_itself_after_some_uploads(sandbox):
    # The soak's refusal lands mid-run however fast the run goes: the sandbox starts it.
    from sandbox_http import items, token, upload

    control(sandbox.url, "/_sandbox/behaviour", {"refuse_credentials_after_uploads": 2})
    live = token(sandbox)
    assert upload(sandbox, live, items(1)).status_code == 201
    assert not sandbox.behaviour.refuse_credentials  # one upload in: not yet
    assert upload(sandbox, live, items(1)).status_code == 201
    assert sandbox.behaviour.refuse_credentials  # the second one turned it on...
    assert sandbox.behaviour.refuse_credentials_after_uploads is None  # ...once
    assert upload(sandbox, live, items(1)).status_code == 401  # the live token stopped working
    with pytest.raises(urllib.error.HTTPError) as answer:
        control(sandbox.url, "/_sandbox/behaviour", {"refuse_credentials_after_uploads": 0})
    assert answer.value.code == 400


def test_an_internal_error_in_a_send_lane_restarts_the_loop_and_nothing_stays_sending(
    sandbox, sandbox_settings, caplog
):
    # Atlas accepts the chunk, then recording its receipts fails: a bug between answer and ledger.
    ledger = FlakyLedger(Path(sandbox_settings.db_path),
                         {"record_sent_and_claim": (1, RuntimeError("index out of range"))})
    queue(ledger, [f"L{i}" for i in range(6)], chunk_size=2)
    runtime = Runtime(sandbox_settings, ledger)
    worker = Worker(runtime, **FAST)
    try:
        with caplog.at_level(logging.WARNING, logger="atlas_core.engine"):
            worker.start()
            assert wait_for(lambda: ledger.raised and not ledger.queued_work()["queued"]
                            and not ledger.queued_work()["sending"])
            sandbox.advance(60)
            worker.refresh_now()
            assert wait_for(lambda: states(ledger) <= {S.EXTRACTED, S.UNCERTAIN}
                            and S.EXTRACTED in states(ledger))
        assert worker.alive
        # The chunk whose answer was lost is uncertain (never silently resent), the rest went on.
        uncertain = ledger.chunks_in_state(S.UNCERTAIN)
        assert len(uncertain) == 1 and ledger.queued_work()["sending"] == 0
        (row,) = ledger.workers()
        assert row["last_error"] == "Internal error (RuntimeError); restarting."
        # The traceback is in the log only.
        assert any(r.exc_info and "internal error" in r.getMessage() for r in caplog.records)
    finally:
        worker.stop()
        runtime.close()
    assert set(sandbox.accept_counts().values()) == {1}


def test_a_ledger_too_busy_to_register_the_worker_does_not_kill_it(sandbox, sandbox_settings):
    ledger = FlakyLedger(Path(sandbox_settings.db_path),
                         {"register_worker": (2, sqlite3.OperationalError("database is locked"))})
    queue(ledger, ["B1", "B2"])
    runtime = Runtime(sandbox_settings, ledger)
    worker = Worker(runtime, **FAST).start()
    try:
        assert wait_for(lambda: ledger.due_batches(all_unfinished=True))
        assert ledger.raised == ["register_worker", "register_worker"] and worker.alive
        assert len(ledger.workers()) == 1
    finally:
        worker.stop()
        runtime.close()


def worker_env(sandbox_url: str, db_path: Path) -> dict[str, str]:
    """The environment of a CLI worker on the sandbox."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "ATLAS_BASE_URL": sandbox_url,
            "ATLAS_CLIENT_ID": SANDBOX_CLIENT_ID, "ATLAS_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
            "ATLAS_DB_PATH": str(db_path), "ATLAS_MAX_RETRIES": "0"}


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    """``python -m atlas_core worker`` with short retry waits, stderr to ``log``."""
    with log.open("w") as handle:
        return subprocess.Popen(
            [sys.executable, "-m", "atlas_core", "-v", "worker", "--retry-wait", "0.2",
             "--retry-wait-cap", "1"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=handle)


@pytest.mark.slow
def test_the_worker_command_survives_refused_credentials_and_exits_0_on_sigterm(sandbox, tmp_path):
    db_path, log = tmp_path / "atlas.db", tmp_path / "worker.log"
    ledger = Ledger(db_path)
    control(sandbox.url, "/_sandbox/behaviour", {"refuse_credentials": True})
    queue(ledger, ["C1", "C2", "C3"])
    proc = start_worker(worker_env(sandbox.url, db_path), log)
    try:
        assert wait_for(lambda: log.read_text().count("worker paused") >= 3, 60), log.read_text()
        assert proc.poll() is None, log.read_text()  # still running, not exited
        assert states(ledger) == {S.QUEUED} and sandbox.accept_counts() == {}
        control(sandbox.url, "/_sandbox/behaviour", {"refuse_credentials": False})
        assert wait_for(lambda: states(ledger) == {S.EXTRACTED}, 60), log.read_text()
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    text = log.read_text()
    assert proc.returncode == 0, text
    assert "worker stopped" in text and "running again" in text and "Traceback" not in text
    assert SANDBOX_CLIENT_SECRET not in text
    assert ledger.workers() == []


@pytest.mark.slow
def test_the_worker_command_exits_130_on_sigint(sandbox, tmp_path):
    log = tmp_path / "worker.log"
    proc = start_worker(worker_env(sandbox.url, tmp_path / "atlas.db"), log)
    try:
        assert wait_for(lambda: "running;" in log.read_text(), 60), log.read_text()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=60)
    assert proc.returncode == 130, log.read_text()
    assert "Traceback" not in log.read_text()


def test_the_worker_command_ends_with_3_on_a_configuration_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    env.update(PYTHONPATH=str(ROOT), ATLAS_BASE_URL="http://127.0.0.1:9",
               ATLAS_DB_PATH=str(tmp_path / "atlas.db"))  # a base URL but no credentials
    done = subprocess.run([sys.executable, "-m", "atlas_core", "worker"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 3
    assert done.stderr.strip().splitlines() == [done.stderr.strip()]  # one line, no traceback
    assert "ATLAS_CLIENT_ID" in done.stderr
