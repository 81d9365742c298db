"""After sending, in real Chromium (issue 12): an Atlas that cannot be reached shows in the
sidebar and on the upload; failures by reason; a done pilot with its Send the rest button."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import Page, expect
from screens import screenshot, settle
from test_upload_flow_browser import choose_file, go, send, sheet, wait_for_upload_state

from atlas_core.ledger import Ledger

pytestmark = pytest.mark.browser

WAIT = 60_000  # ms: the worker's first token probe and sends run in the background


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_unreachable_atlas_shows_in_the_sidebar_and_on_the_upload(
    launch_dashboard, page: Page, tmp_path
):
    app = launch_dashboard(
        "outage",
        ATLAS_BASE_URL=f"http://127.0.0.1:{closed_port()}",
        ATLAS_CLIENT_ID="analyst-client",
        ATLAS_CLIENT_SECRET="outage-secret-value",
        ATLAS_MAX_RETRIES="0",
        ATLAS_BACKOFF_BASE="0.5",
    )
    page.goto(app.url)
    settle(page)
    sidebar = page.get_by_test_id("stSidebar")
    for _ in range(30):  # the sidebar is drawn on each run: reload until the first probe is in
        if sidebar.get_by_text("Can't reach Atlas").count():
            break
        page.wait_for_timeout(1000)
        page.reload()
        settle(page)
    expect(sidebar.get_by_text("Can't reach Atlas")).to_be_visible()
    expect(sidebar.get_by_test_id("stAlertContentSuccess")).to_have_count(0)

    choose_file(page, tmp_path, "outage.csv", sheet(["O-1", "O-2", "O-3"], {}))
    send(page, "Asha")
    page.get_by_role("button", name="Send 3 documents").click()
    settle(page)
    ledger = Ledger(app.workdir / "atlas.db")
    for _ in range(60):
        if ledger.sending_trouble(1)["attempts"] >= 2:
            break
        page.wait_for_timeout(500)
    go(page, "Batches")
    card = page.get_by_text(re.compile(r"Can't reach Atlas: connection refused; \d+ tries; next"))
    expect(card.first).to_be_visible(timeout=WAIT)
    assert "outage-secret-value" not in page.content()
    screenshot(page, "outage")


def test_failure_reasons_and_a_done_pilot(launch_dashboard, page: Page, tmp_path):
    behaviour = {"processing_seconds": 0.3, "fail_rate": 0.5, "temporary_fail_share": 0.5,
                 "seed": 5}
    app = launch_dashboard("after", ATLAS_SANDBOX_BEHAVIOUR=json.dumps(behaviour))
    page.goto(app.url)
    settle(page)
    choose_file(page, tmp_path, "branch-scans.csv", sheet([f"B-{n:02d}" for n in range(1, 21)], {}))
    send(page, "Vikram")
    page.get_by_role("button", name="Send 20 documents").click()
    settle(page)
    go(page, "Batches")
    wait_for_upload_state(page, "Complete with failures")
    expect(page.get_by_text(re.compile(r"^Why \d+ documents failed$")).first).to_be_visible()
    expect(page.get_by_text(re.compile(
        r"\d+ need their file or link fixed; \d+ may work if retried\.")).first).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Retry \d+ that may work now$"))).to_be_visible()
    expect(page.get_by_role("button", name=re.compile(r"^Download the \d+ to fix"))).to_be_visible()
    screenshot(page, "failure-reasons")

    go(page, "Upload")
    choose_file(page, tmp_path, "pilot.csv", sheet([f"P-{n:02d}" for n in range(1, 11)], {}))
    page.get_by_text("Pilot: send only the first rows, the rest later").click()
    settle(page)
    page.get_by_label("Rows in the pilot").fill("3")
    page.get_by_label("Rows in the pilot").press("Enter")
    settle(page)
    send(page, "Vikram")
    page.get_by_role("button", name="Send 3 documents").click()
    settle(page)
    expect(page.get_by_text("Pilot done: 7 rows held; send the rest").first).to_be_visible(
        timeout=WAIT
    )
    expect(page.get_by_role("button", name="Send the rest (7 held rows)")).to_be_visible()
    screenshot(page, "pilot-done")
    go(page, "Batches")
    expect(page.get_by_text("Pilot done", exact=True).first).to_be_visible()
    expect(page.get_by_role("button", name="Send the rest (7 held rows)")).to_be_visible()
