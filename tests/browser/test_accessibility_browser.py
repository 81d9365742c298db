"""Every page passes an axe-core audit in real Chromium: no serious or critical violation.

The ledger holds a working day (tests/scale_support.py: several uploads, failures, an uncertain
request) so the pages draw their tables, badges, captions and charts, not just empty states.
axe-core comes inside the axe-playwright-python wheel (axe.min.js); nothing is downloaded.
"""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from conftest import start_dashboard
from playwright.sync_api import Page, expect
from scale_support import fill_day
from screens import screenshot, settle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGES = {"Upload": "", "Batches": "batches", "Results": "results", "Connection": "connection"}
BLOCKING = {"serious", "critical"}


@pytest.fixture(scope="module")
def busy_dashboard(tmp_path_factory):
    """A dashboard over a ledger that already holds a day's uploads."""
    workdir = tmp_path_factory.mktemp("a11y")
    fill_day(workdir / "atlas.db").close()
    app = start_dashboard(workdir)
    yield app
    app.stop()


def blocking_violations(page: Page) -> list[str]:
    """axe's serious and critical violations on the page, one line each with an example node."""
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} - e.g. {v['nodes'][0]['target']}: "
        f"{v['nodes'][0].get('failureSummary', '')}"
        for v in results.response["violations"]
        if v.get("impact") in BLOCKING
    ]


@pytest.mark.parametrize("title", list(PAGES))
def test_page_has_no_serious_accessibility_violation(busy_dashboard, page: Page, title: str):
    page.goto(f"{busy_dashboard.url}/{PAGES[title]}")
    settle(page)
    expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
    if title == "Batches":
        expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    assert blocking_violations(page) == []


def test_opened_upload_and_search_pass_the_audit_too(busy_dashboard, page: Page):
    """The compact list, an opened upload (buttons, uncertain request) and a search result."""
    page.goto(f"{busy_dashboard.url}/batches")
    settle(page)
    expect(page.get_by_test_id("stDataFrame").first).to_be_visible()
    screenshot(page, "uploads-compact")
    page.get_by_label("Open an upload").click()
    page.get_by_role("option", name="Upload 3 · pilot-east.csv").click()
    settle(page)
    expect(page.get_by_text("Request 3 of 3").first).to_be_visible()
    expect(page.get_by_text("POST /v1/")).to_have_count(0)
    screenshot(page, "uploads-opened")
    assert blocking_violations(page) == []
    search = page.get_by_label("Find a document ID or batch ID")
    search.fill("U2-00123")
    search.press("Enter")
    settle(page)
    expect(page.get_by_text("Found in upload 2")).to_be_visible()
    screenshot(page, "uploads-search")
    assert blocking_violations(page) == []
