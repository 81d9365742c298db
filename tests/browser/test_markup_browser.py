"""Markup in Atlas answers never makes a viewer's browser fetch anything (real Chromium).

The ledger is filled through the real engine from a sandbox playing ``markup_in_answers`` with
its images pointing at a loopback beacon that counts requests (see tests/markup_support.py).
The dashboard then shows every page, an uncertain request, a failed document's error and the
sidebar worker status quoting Atlas's refusal; the beacon must see no request at all.
"""

from __future__ import annotations

import sqlite3

import pytest
from markup_support import Beacon, fill_ledger, markup_sandbox
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from screens import screenshot, settle

from atlas_core.config import SANDBOX_CLIENT_ID

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def beacon():
    """A loopback server counting what fetched the beacon image."""
    server = Beacon()
    yield server
    server.close()


def test_no_page_fetches_an_image_named_in_an_atlas_answer(beacon, tmp_path, launch_dashboard, page: Page):
    atlas = markup_sandbox(tmp_path, beacon.url)
    beacon_host = beacon.url.split("/")[2]
    links = 0  # links to the beacon on any page: Atlas text must not become a link either
    try:
        db_path = fill_ledger(tmp_path, atlas, beacon.url)
        (tmp_path / "app").mkdir()
        with sqlite3.connect(db_path) as source, sqlite3.connect(tmp_path / "app" / "atlas.db") as copy:
            source.backup(copy)
        # A refused secret, so Atlas's 401 answer (with markup) becomes the worker's status.
        app = launch_dashboard(
            "app", ATLAS_BASE_URL=atlas.url, ATLAS_CLIENT_ID=SANDBOX_CLIENT_ID,
            ATLAS_CLIENT_SECRET="not-the-secret",
        )  # fmt: skip
        page.goto(f"{app.url}/batches")
        settle(page)
        expect(page.get_by_text("Atlas answered with an error (HTTP 500)", exact=False).first).to_be_visible()
        page.goto(f"{app.url}/results")
        settle(page)
        # The page refreshes itself while work is unfinished, and a refresh closes an open list:
        # open it again until the option is picked.
        for _ in range(5):
            page.get_by_test_id("stSelectbox").filter(has_text="Document").last.click()
            try:
                page.get_by_role("option").filter(has_text="failed").first.click(timeout=5_000)
                break
            except PlaywrightTimeoutError:
                settle(page)
        settle(page)
        expect(page.get_by_text("Atlas reported:", exact=False)).to_be_visible()
        screenshot(page, "markup-results")
        links += page.locator(f'a[href*="{beacon_host}"]').count()
        page.goto(f"{app.url}/batches")
        settle(page)
        page.get_by_role("button", name="Retry").first.click()  # work to send: a token is asked
        settle(page)
        sidebar = page.get_by_test_id("stSidebar")
        page.reload()
        settle(page)
        # The worker pauses on the refusal; its line is plain text in our own words.
        expect(sidebar.get_by_text("Background worker: paused", exact=False)).to_be_visible(
            timeout=30_000
        )
        screenshot(page, "markup-batches")
        links += page.locator(f'a[href*="{beacon_host}"]').count()
        for path in ("", "connection"):
            page.goto(f"{app.url}/{path}")
            settle(page)
            links += page.locator(f'a[href*="{beacon_host}"]').count()
        expect(page.get_by_test_id("stException")).to_have_count(0)
    finally:
        atlas.stop()
    assert beacon.hits == []
    assert links == 0
