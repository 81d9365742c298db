"""Screenshots: always saved under test-artifacts/; copied to docs/screenshots/ on request.

Set ATLAS_UPDATE_SCREENSHOTS=1 (or run `python scripts/screenshots.py`) to refresh the
committed set that the README and reviewers look at.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
COMMITTED = ROOT / "docs" / "screenshots"
UPDATE_ENV = "ATLAS_UPDATE_SCREENSHOTS"
APP = '[data-testid="stApp"]'


def settle(page: Page, timeout: float = 30_000) -> None:
    """Wait until Streamlit has finished the run a click or a page load started.

    A click starts a run a moment later, and until that run ends the page may still show the
    previous run's elements next to the new ones; so give the run a second to start, then wait
    for it to end.
    """
    try:
        page.wait_for_selector(f"{APP}[data-test-script-state=running]", timeout=1_000)
    except PlaywrightTimeoutError:
        pass  # the run was quicker than a frame, or nothing started one
    page.wait_for_selector(f"{APP}[data-test-script-state=notRunning]", timeout=timeout)
    page.wait_for_timeout(300)  # let charts and grids paint after the last delta


MAX_HEIGHT = 4000  # px: a very long page is cut rather than making a huge image


def screenshot(page: Page, name: str) -> Path:
    """Save a PNG of the whole page as a test artifact (and into docs/screenshots when refreshing).

    Streamlit scrolls inside its main block, not the document, so full_page alone shows one
    screen: the window is stretched to the content's height for the shot, then put back.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    size = page.viewport_size
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('[data-testid=stMain], [data-testid=stSidebarContent]')]"
        ".map(e => e.scrollHeight), 0)"
    )
    if size and height > size["height"]:
        page.set_viewport_size(
            {"width": size["width"], "height": min(int(height) + 40, MAX_HEIGHT)}
        )
        page.wait_for_timeout(500)
    try:
        page.screenshot(path=str(path), full_page=True)
    finally:
        if size:
            page.set_viewport_size(size)
    if os.environ.get(UPDATE_ENV) == "1":
        COMMITTED.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, COMMITTED / path.name)
    return path
