"""A dashboard replica without its worker (ATLAS_EMBEDDED_WORKER=0): a worker service does the work.

The replica and a real ``python -m atlas_core worker`` process share one ledger and one sandbox;
the sidebar lists the workers the ledger knows, and the replica's "Refresh now" and uploads reach
the service through the ledger.
"""

from __future__ import annotations

import signal
import threading

import pytest
from pg_support import ledger_env
from test_pages_support import (  # noqa: F401 (released_runtimes: a fixture, for pytestmark)
    PAGES,
    ledger_of,
    open_app,
    released_runtimes,
    sheet_csv,
    submit_sheet,
    wait_until,
)
from test_worker_resilience import start_worker, worker_env

from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from atlas_core.ledger import Ledger

pytestmark = pytest.mark.usefixtures("released_runtimes")


def sidebar_text(at) -> str:
    """Every text and message of the sidebar."""
    parts = [str(e.value) for e in at.sidebar.text]
    parts += [str(e.value) for kind in ("info", "warning", "success", "error")
              for e in getattr(at.sidebar, kind)]
    return "\n".join(parts)


def worker_threads() -> int:
    """Background worker threads running in this process."""
    return sum(1 for t in threading.enumerate() if t.name == "atlas-worker" and t.is_alive())


def open_replica(tmp_path, monkeypatch, sandbox, page: str | None = None,
                 location: str | None = None):
    """The dashboard with ATLAS_EMBEDDED_WORKER=0, pointed at the test's one shared sandbox (and
    at ``location``'s ledger when it is a PostgreSQL URL)."""
    shared = {"database_url": location} if location and location.startswith("postgresql") else {}
    return open_app(tmp_path, monkeypatch, page, embedded_worker="0", base_url=sandbox.url,
                    client_id=SANDBOX_CLIENT_ID, client_secret=SANDBOX_CLIENT_SECRET, **shared)


def replica_ledger(tmp_path, location: str) -> Ledger:
    """The replica's ledger opened apart from it: the test's file, or the PostgreSQL database."""
    return Ledger(location) if location.startswith("postgresql") else ledger_of(tmp_path)


def test_a_replica_runs_no_worker_and_says_none_is_running(tmp_path, monkeypatch, sandbox):
    at = open_replica(tmp_path, monkeypatch, sandbox)
    assert not at.exception, [e.value for e in at.exception]
    assert worker_threads() == 0
    text = sidebar_text(at)
    assert "Work is done by worker services" in text
    assert "No worker is running" in text and "Workers: 0 alive, 0 stale" in text
    assert "Background worker: running" not in text


def test_a_stale_worker_is_listed_as_stale(tmp_path, monkeypatch, sandbox, ledger_location):
    at = open_replica(tmp_path, monkeypatch, sandbox, location=ledger_location)
    ledger = replica_ledger(tmp_path, ledger_location)
    now = ledger.ledger_clock()
    ledger.register_worker("deadbeef0001", host="box-1", pid=1, kind="worker", now=now - 600)
    ledger.register_worker("cafe00000002", host="box-2", pid=1, kind="worker", now=now)
    ledger.heartbeat("cafe00000002", activity="idle")
    presence = ledger.hold_worker_lock("cafe00000002")  # PostgreSQL: alive = its lock is held
    at.run()
    if presence is not None:
        presence.release()
    text = sidebar_text(at)
    assert "Workers: 1 alive, 1 stale" in text
    assert "worker service cafe0000 on box-2: alive, idle; heard from" in text
    assert "worker service deadbeef on box-1: stale (no heartbeat" in text
    assert "No worker is running" not in text


@pytest.mark.slow
def test_a_worker_service_sends_the_replicas_upload_and_refreshes_on_its_button(
    tmp_path, monkeypatch, sandbox, ledger_location
):
    at = open_replica(tmp_path, monkeypatch, sandbox, location=ledger_location)
    log = tmp_path / "worker.log"
    env = {**worker_env(sandbox.url, tmp_path / "atlas.db"), **ledger_env(ledger_location)}
    proc = start_worker(env, log)
    ledger = replica_ledger(tmp_path, ledger_location)
    try:
        wait_until(lambda: ledger.workers(), "the worker service to register")
        at.run()
        assert "worker service" in sidebar_text(at) and "Workers: 1 alive" in sidebar_text(at)
        submit_sheet(at, sheet_csv(["R1", "R2", "R3"]))
        wait_until(lambda: sandbox.accept_counts() == {"R1": 1, "R2": 1, "R3": 1},
                   "the worker service to send the replica's upload")
        assert worker_threads() == 0  # the replica itself sent nothing
        before = len([r for r in sandbox.request_log() if "extracts" in r["path"]])
        at.switch_page(PAGES["Batches"]).run()
        at.button(key="refresh_now").click().run()
        wait_until(lambda: len([r for r in sandbox.request_log() if "extracts" in r["path"]])
                   > before, "the worker service to poll after the replica's Refresh now")
        wait_until(lambda: {d["state"] for d in ledger.iter_documents()} == {"extracted"},
                   "the results")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0, log.read_text()
    at.run()
    assert "No worker is running" in sidebar_text(at)  # a stopped service is not listed


SHARED_URL = "postgresql://atlas:pg-s3cret-pw@127.0.0.1:9/atlas"  # never reached: refused first


@pytest.mark.parametrize(
    ("settings", "why"),
    [({"database_url": SHARED_URL}, "ATLAS_DATABASE_URL is set"),
     ({"embedded_worker": "0"}, "ATLAS_EMBEDDED_WORKER=0")],
    ids=["shared-ledger", "replica"],
)
def test_a_process_sharing_the_ledger_is_refused_a_sandbox_of_its_own(
    tmp_path, monkeypatch, settings, why
):
    at = open_app(tmp_path, monkeypatch, **settings)
    assert not at.exception, [e.value for e in at.exception]
    (message,) = [str(e.value) for e in at.error]
    assert why in message and "python -m atlas_core sandbox" in message
    assert "ATLAS_BASE_URL" in message
    assert not (tmp_path / "sandbox.jsonl").exists()  # no sandbox was started
    assert worker_threads() == 0
    page = "\n".join(str(e.value) for e in at.main.children.values() if hasattr(e, "value"))
    assert "pg-s3cret-pw" not in page + message


def test_a_dashboard_with_its_own_worker_lists_the_other_workers(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch)
    assert "Other workers" not in sidebar_text(at)  # alone on its ledger: nothing more to say
    ledger = ledger_of(tmp_path)
    ledger.register_worker("beef00000003", host="box-3", pid=1, kind="worker")
    ledger.heartbeat("beef00000003", activity="sending")
    at.run()
    text = sidebar_text(at)
    assert "Background worker: running" in text
    assert "Other workers on this ledger:\n- worker service beef0000 on box-3: alive, sending" in text
