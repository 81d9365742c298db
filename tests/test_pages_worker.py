"""The dashboard's background worker: its state in the sidebar, and a dead one started again."""

from __future__ import annotations

import threading

import pytest
from streamlit.testing.v1 import AppTest
from test_pages_support import (  # noqa: F401 (released_runtimes: a fixture, for pytestmark)
    TIMEOUT,
    ledger_of,
    open_app,
    released_runtimes,
    sheet_csv,
    submit_sheet,
    wait_until,
)

pytestmark = pytest.mark.usefixtures("released_runtimes")


def stop_the_cached_worker() -> None:
    """A script that stops the worker held by the dashboard's cache, as a crash would end it."""
    from ui.runtime import handle

    handle().worker.stop()


def sidebar_text(at: AppTest) -> str:
    """The plain-text lines of the sidebar."""
    return "\n".join(str(e.value) for e in at.sidebar.text)


def worker_threads() -> int:
    """Background worker threads running in this process."""
    return sum(1 for t in threading.enumerate() if t.name == "atlas-worker" and t.is_alive())


def test_a_dead_worker_is_started_again_on_the_next_run_of_the_page(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch)
    assert "Background worker: running" in sidebar_text(at)
    assert worker_threads() == 1

    killer = AppTest.from_function(stop_the_cached_worker, default_timeout=TIMEOUT)
    killer.secrets["atlas"] = dict(at.secrets["atlas"])  # the same settings: the same cached runtime
    killer.run()
    assert not killer.exception, [e.value for e in killer.exception]
    assert worker_threads() == 0

    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert worker_threads() == 1
    assert "Background worker: running" in sidebar_text(at)


def test_the_sidebar_says_in_plain_text_when_atlas_refuses_the_credentials(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, behaviour={"refuse_credentials": True})
    submit_sheet(at, sheet_csv(["R1", "R2"]))
    ledger = ledger_of(tmp_path)

    def paused() -> bool:
        at.run()
        return "paused: Atlas refused the credentials; next try at" in sidebar_text(at)

    wait_until(paused, "the worker to pause")
    assert {d["state"] for d in ledger.iter_documents()} == {"queued"}  # nothing rejected
    assert "refused the credentials" not in "\n".join(str(e.value) for e in at.sidebar.markdown)
