"""The flows an analyst clicks through, in real Chromium against a real `streamlit run`."""

from __future__ import annotations

import io
import json
import re

import pandas as pd
import pytest
from playwright.sync_api import Page, expect
from screens import screenshot, settle

from atlas_core.ledger import Ledger

pytestmark = pytest.mark.browser

GOOD_URL = "https://bucket.s3.amazonaws.com/scans/{}.jpg"
WAIT = 60_000  # ms: results arrive through the background worker and the sandbox


def sheet(ids: list[str], broken: dict[str, str]) -> bytes:
    rows = ["document_id,file_url"] + [f"{i},{broken.get(i, GOOD_URL.format(i))}" for i in ids]
    return ("\n".join(rows) + "\n").encode()


def choose_file(page: Page, tmp_path, name: str, data: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
    expect(page.get_by_text("2. Check")).to_be_visible(timeout=WAIT)
    settle(page)


def metric(page: Page, label: str):
    return page.get_by_test_id("stMetric").filter(has_text=label).get_by_test_id("stMetricValue")


def fix_first_problem_url(page: Page, old_url: str, new_url: str) -> None:
    """Type into the file_url cell of the first problem row of the (canvas) data editor."""
    editor = page.locator(".st-key-fix_rows").get_by_test_id("stDataFrame")
    editor.scroll_into_view_if_needed()
    box = editor.bounding_box()
    page.mouse.click(box["x"] + 30, box["y"] + 35 + 17)  # first data row, first column (Row)
    page.keyboard.press("ArrowRight")  # What to do
    page.keyboard.press("ArrowRight")  # document_id
    page.keyboard.press("ArrowRight")  # file_url
    page.keyboard.press("Enter")  # open the cell editor with the current text
    cell = page.locator("textarea.gdg-input")
    expect(cell).to_have_value(old_url)  # the editor opened on the cell we mean
    cell.fill(new_url)
    cell.press("Enter")
    settle(page)


def send(page: Page, name: str) -> None:
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Your name").press("Enter")
    settle(page)
    page.get_by_role("button", name="Review before sending").click()
    settle(page)


def go(page: Page, title: str) -> None:
    page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
    settle(page)


def wait_for_upload_state(page: Page, state: str | re.Pattern) -> None:
    """Press "Refresh now" until the upload reads ``state`` (the worker also gets there alone)."""
    # The opened upload's badge (Markdown), not the uploads table's cell (a canvas grid's hidden copy).
    shown = page.locator("[data-testid=stMain] [data-testid=stMarkdownContainer]")
    badge = (
        shown.get_by_text(state, exact=True) if isinstance(state, str) else shown.get_by_text(state)
    )
    for _ in range(30):
        if badge.count():
            return
        page.get_by_role("button", name="Refresh now").click()
        settle(page)
        page.wait_for_timeout(1000)
    expect(badge.first).to_be_visible()


def wait_until_settled(page: Page, ledger: Ledger, upload_id: int) -> None:
    """Press "Refresh now" until the ledger has nothing of the upload waiting or with Atlas.

    The ledger, not the screen, says when: right after a click the page may still show the
    previous run's elements while the new run is on its way.
    """
    for _ in range(60):
        row = ledger.upload(upload_id)
        if not (row["queued"] or row["submitted"] or row["uncertain"]):
            page.reload()
            settle(page)
            return
        page.get_by_role("button", name="Refresh now").click()
        settle(page)
        page.wait_for_timeout(500)
    pytest.fail(f"upload {upload_id} did not settle: {ledger.upload(upload_id)}")


# The one-row-per-document CSV of the upload on screen (the label counts its documents).
WIDE_CSV = re.compile(r"^Download [\d,]+ documents \(CSV, one row each\)$")


def download(page: Page, label: str | re.Pattern[str]) -> bytes:
    with page.expect_download(timeout=WAIT) as info:
        page.get_by_role("button", name=label).click()
    return open(info.value.path(), "rb").read()


def test_upload_fix_submit_and_download(dashboard, page: Page, tmp_path):
    ids = [f"APP-{n:03d}" for n in range(1, 7)]
    page.goto(dashboard.url)
    settle(page)
    choose_file(
        page, tmp_path, "applicants.csv", sheet(ids, {"APP-004": "www.example.com/APP-004.jpg"})
    )
    expect(metric(page, "With errors")).to_have_text("1")
    expect(page.get_by_text("Not a web link").first).to_be_visible()  # the filter, in words
    expect(page.get_by_text("URL_NOT_HTTP")).to_have_count(0)
    screenshot(page, "upload-problems")

    fixed_url = GOOD_URL.format("APP-004-fixed")
    fix_first_problem_url(page, "www.example.com/APP-004.jpg", fixed_url)
    page.get_by_role("button", name="Re-check with my fixes").click()
    settle(page)
    expect(metric(page, "With errors")).to_have_text("0")
    expect(metric(page, "Ready to send")).to_have_text("6")

    send(page, "Asha Rao")
    expect(page.get_by_text("6 document(s) will be sent in 1 request(s).")).to_be_visible()
    screenshot(page, "upload-confirm")
    page.get_by_role("button", name="Send 6 documents").click()
    settle(page)
    expect(page.get_by_text("Your last upload")).to_be_visible()

    go(page, "Batches")
    # No clicks: the worker polls Atlas and the page refreshes itself while work is unfinished.
    expect(page.get_by_text("6 documents: 6 extracted").first).to_be_visible(timeout=WAIT)
    expect(
        page.locator("[data-testid=stMain] [data-testid=stMarkdownContainer]")
        .get_by_text("Complete", exact=True).first
    ).to_be_visible()
    screenshot(page, "batches")

    go(page, "Results")
    page.get_by_test_id("stSelectbox").filter(has_text="Upload").first.click()
    page.get_by_role("option", name=re.compile(r"^Upload 1 · applicants\.csv")).click()
    settle(page)
    expect(page.get_by_text("Documents (6)")).to_be_visible()
    screenshot(page, "results")

    frame = pd.read_csv(
        io.BytesIO(download(page, WIDE_CSV)), encoding="utf-8-sig", dtype=str
    )
    assert sorted(frame["document_id"]) == ids
    assert set(frame["status"]) == {"extracted"}
    assert frame.set_index("document_id").loc["APP-004", "file_url"] == fixed_url
    assert frame["document_type"].notna().all()


def test_with_faults_failures_are_visible_retried_and_listed(
    launch_dashboard, page: Page, tmp_path
):
    # Temporary failures (TIMEOUT): those Retry offers (test_after_sending_browser: the others).
    behaviour = {"processing_seconds": 0.3, "fail_rate": 0.4, "temporary_fail_share": 1.0,
                 "rate_503": 0.3, "seed": 11}
    app = launch_dashboard("faulty", ATLAS_SANDBOX_BEHAVIOUR=json.dumps(behaviour))
    ids = [f"F-{n:02d}" for n in range(1, 11)]
    page.goto(app.url)
    settle(page)
    choose_file(page, tmp_path, "faulty.csv", sheet(ids, {}))
    send(page, "Vikram")
    page.get_by_role("button", name="Send 10 documents").click()
    settle(page)

    go(page, "Batches")
    wait_for_upload_state(page, "Complete with failures")
    expect(page.get_by_test_id("stException")).to_have_count(0)
    screenshot(page, "batches-with-failures")
    page.get_by_role("button", name=re.compile(r"^Retry \d+ that may work now$")).click()
    settle(page)
    expect(
        page.get_by_text(re.compile(r"failed document\(s\) of upload 1 queued again"))
    ).to_be_visible()

    go(page, "Results")
    page.get_by_test_id("stSelectbox").filter(has_text="Upload").first.click()
    page.get_by_role("option", name=re.compile(r"^Upload 1 · faulty\.csv")).click()
    settle(page)
    failed = pd.read_csv(
        io.BytesIO(download(page, "Failed documents (CSV)")), encoding="utf-8-sig", dtype=str
    )
    wide = pd.read_csv(
        io.BytesIO(download(page, WIDE_CSV)), encoding="utf-8-sig", dtype=str
    )
    assert set(failed["document_id"]) == set(wide.loc[wide["status"] == "failed", "document_id"])
    assert set(wide["document_id"]) == set(ids)
