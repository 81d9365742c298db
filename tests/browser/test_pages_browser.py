"""Every page opens in real Chromium with no exception on screen; screenshots of each."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from screens import screenshot, settle

pytestmark = pytest.mark.browser

PAGES = {"Upload": "", "Batches": "batches", "Results": "results", "Connection": "connection"}


@pytest.mark.parametrize("title", list(PAGES))
def test_page_opens_without_exception(dashboard, page: Page, title: str):
    page.goto(f"{dashboard.url}/{PAGES[title]}")
    settle(page)
    expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_text("Sandbox mode.")).to_be_visible()
    screenshot(page, f"page-{title.lower()}")
