"""Two dashboard replicas (ATLAS_EMBEDDED_WORKER=0) on one PostgreSQL ledger, in real Chromium.

A worker service does the work; each replica's sidebar lists it, and "Refresh now" clicked on
one replica reaches every worker through the ledger (the replica has no worker of its own).
"""

from __future__ import annotations

import signal

import pytest
from playwright.sync_api import Page, expect
from screens import screenshot, settle
from test_engine_worker import wait_for
from test_worker_resilience import start_worker, worker_env

from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from atlas_core.ledger import Ledger

pytestmark = pytest.mark.browser


@pytest.mark.slow
def test_replicas_list_the_worker_service_and_refresh_reaches_it(
    launch_dashboard, page: Page, postgres_cluster, sandbox, tmp_path
):
    url = postgres_cluster.fresh_database()
    ledger = Ledger(url)
    shared = {"ATLAS_DATABASE_URL": url, "ATLAS_EMBEDDED_WORKER": "0",
              "ATLAS_BASE_URL": sandbox.url, "ATLAS_CLIENT_ID": SANDBOX_CLIENT_ID,
              "ATLAS_CLIENT_SECRET": SANDBOX_CLIENT_SECRET}
    log = tmp_path / "worker.log"
    proc = start_worker({**worker_env(sandbox.url, tmp_path / "unused.db"),
                         "ATLAS_DATABASE_URL": url}, log)
    try:
        assert wait_for(lambda: ledger.workers(), 60), log.read_text()
        first, second = launch_dashboard("replica-1", **shared), launch_dashboard("replica-2", **shared)
        for replica in (first, second):
            page.goto(replica.url)
            settle(page)
            sidebar = page.get_by_test_id("stSidebar")
            expect(sidebar.get_by_text("Work is done by worker services")).to_be_visible()
            expect(sidebar.get_by_text("Workers: 1 alive, 0 stale")).to_be_visible()
            expect(page.get_by_test_id("stException")).to_have_count(0)
        screenshot(page, "replica-sidebar")
        before = ledger.signal_serials()["refresh"]
        page.goto(f"{second.url}/batches")
        settle(page)
        page.get_by_role("button", name="Refresh now").click()
        settle(page)
        expect(page.get_by_text("Asking Atlas for the latest results")).to_be_visible()
        assert ledger.signal_serials()["refresh"] == before + 1  # in the ledger, for every worker
        assert "Traceback" not in first.log() + second.log()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.returncode == 0, log.read_text()
