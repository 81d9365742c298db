"""Wake-ups across processes: "refresh now" and new work signalled through the ledger.

The worker under test idles for 600 s between cycles, so only a signal can make it move within
the test's wait; the signals come from another Ledger on the same file, as from another process.
"""

from __future__ import annotations

import pytest
from test_engine_worker import (  # noqa: F401 (runtime, sandbox_settings: fixtures on both engines)
    queue,
    runtime,
    sandbox_settings,
    wait_for,
)

from atlas_core.engine import Worker
from atlas_core.engine.wakeups import SignalWatcher
from atlas_core.ledger import Ledger
from atlas_core.ledger import states as S


def extract_polls(sandbox) -> int:
    """How many result pages the sandbox was asked for."""
    return sum(1 for r in sandbox.request_log() if r["path"].endswith("extracts"))


def test_new_work_signalled_elsewhere_wakes_an_idle_worker(runtime, sandbox):  # noqa: F811
    worker = Worker(runtime, idle_wait=600).start()
    try:
        assert wait_for(lambda: worker.status().cycles >= 1)  # idle now, for 600 s
        elsewhere = Ledger(runtime.settings.ledger_location)
        queue(elsewhere, ["N1", "N2"])
        elsewhere.send_signal("work")
        assert wait_for(lambda: sandbox.accept_counts() == {"N1": 1, "N2": 1})
    finally:
        worker.stop()


def test_refresh_now_signalled_elsewhere_polls_at_once(runtime, sandbox):  # noqa: F811
    worker = Worker(runtime, idle_wait=600).start()
    try:
        queue(runtime.ledger, ["F1"])
        worker.wake()
        assert wait_for(lambda: sandbox.accept_counts() == {"F1": 1})
        # Its first poll is due in an hour: only "refresh now" makes the worker ask sooner.
        with runtime.ledger.transaction() as db:
            db.execute("UPDATE batches SET next_poll_at = next_poll_at + 3600")
        assert wait_for(lambda: worker.activity() == "idle")
        before = extract_polls(sandbox)
        sandbox.advance(60)
        Ledger(runtime.settings.ledger_location).send_signal("refresh")
        assert wait_for(lambda: extract_polls(sandbox) > before)
        assert wait_for(lambda: {d["state"] for d in runtime.ledger.iter_documents()}
                        == {S.EXTRACTED})
    finally:
        worker.stop()


def test_a_worker_acts_once_on_its_own_announcement(ledger_location):
    ledger = Ledger(ledger_location)
    calls: list[str] = []
    watcher = SignalWatcher(ledger, on_refresh=lambda: calls.append("refresh"),
                            on_work=lambda: calls.append("work"), poll=3600)
    with watcher:
        watcher.absorb("refresh", ledger.send_signal("refresh"))  # sent by this worker
        watcher.look()
        assert calls == []
        Ledger(ledger_location).send_signal("work")  # sent by another process
        watcher.look()
        watcher.look()
        assert calls == ["work"]


def test_an_unknown_signal_is_refused(tmp_path):
    with pytest.raises(ValueError):
        Ledger(tmp_path / "atlas.db").send_signal("reboot")


def test_announcing_on_a_busy_ledger_still_moves_this_worker(tmp_path, sandbox):
    """"Refresh now" on a dashboard whose ledger is busy: its own worker still refreshes at once."""
    from test_worker_resilience import FlakyLedger

    from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Settings
    from atlas_core.engine.runtime import Runtime
    from atlas_core.errors import LedgerError

    ledger = FlakyLedger(tmp_path / "atlas.db",
                         {"send_signal": (1, LedgerError("The ledger could not be written."))})
    settings = Settings(db_path=str(tmp_path / "atlas.db")).with_base_url(
        sandbox.url, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET)
    worker = Worker(Runtime(settings, ledger), idle_wait=600)
    worker.announce("refresh")  # no error reaches the page
    assert ledger.raised == ["send_signal"]
    # Its next cycle starts now and polls every batch, as a local "refresh now" always did.
    assert worker._force_refresh and worker._wake.is_set()
