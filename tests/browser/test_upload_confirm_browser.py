"""Issue 12, before sending: a guessed column is confirmed before Send unlocks, in real Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from screens import screenshot, settle
from test_upload_flow_browser import WAIT, metric

pytestmark = pytest.mark.browser


def loan_sheet(rows: int, *, with_ref: bool) -> bytes:
    """Headers as an analyst's export has them: a serial number first."""
    header = ["Sr No", "Applicant Ref", "KYC Doc Link", "Branch"]
    lines = [",".join(h for h in header if with_ref or h != "Applicant Ref")]
    for i in range(1, rows + 1):
        cells = [str(i), f"APP-{900 + i}", f"https://bucket.s3.amazonaws.com/kyc/{i}.jpg", "Pune"]
        if not with_ref:
            del cells[1]
        lines.append(",".join(cells))
    return ("\n".join(lines) + "\n").encode()


def choose(page: Page, path) -> None:
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
    expect(page.get_by_text("2. Check")).to_be_visible(timeout=WAIT)
    settle(page)


def test_a_guessed_id_column_is_confirmed_before_send(dashboard, page: Page, tmp_path):
    serial_only = tmp_path / "serial-only.csv"
    serial_only.write_bytes(loan_sheet(5, with_ref=False))
    with_ref = tmp_path / "with-ref.csv"
    with_ref.write_bytes(loan_sheet(5, with_ref=True))
    page.goto(dashboard.url)
    settle(page)

    choose(page, serial_only)
    expect(page.get_by_text("Guessed from the cells")).to_be_visible()
    expect(page.get_by_text("like a serial number")).to_be_visible()
    page.get_by_label("Your name").fill("Asha Rao")
    page.get_by_label("Your name").press("Tab")
    settle(page)
    review = page.get_by_role("button", name="Review before sending")
    expect(review).to_be_disabled()
    screenshot(page, "upload-guessed-column")

    page.get_by_text("I checked: 'KYC Doc Link' holds the file links").click()
    settle(page)
    expect(review).to_be_enabled()
    review.click()
    settle(page)
    expect(page.get_by_role("button", name="Send 5 documents")).to_be_enabled()

    # Swapping the file: the reference column is found by its header, nothing to confirm,
    # and the typed name is still there.
    page.get_by_role("button", name="Remove serial-only.csv").click()
    settle(page)
    choose(page, with_ref)
    expect(page.get_by_text("reads like a document reference")).to_be_visible()
    expect(page.get_by_text("Guessed from the cells")).to_have_count(0)
    expect(page.get_by_label("Your name")).to_have_value("Asha Rao")
    expect(metric(page, "Ready to send")).to_have_text("5")
    expect(page.get_by_role("button", name="Review before sending")).to_be_enabled()


def test_problems_read_as_one_table_in_words(dashboard, page: Page, tmp_path):
    lines = ["customer_name,branch,document_id,file_url"]
    for i in range(1, 13):
        url = f"https://bucket.s3.amazonaws.com/kyc/{i}.jpg"
        if i in (3, 4, 5, 6):
            url = url.replace(".jpg", ".docx")  # a warning, four times: one line
        lines.append(f"Customer {i},Pune,D-{i},{url}")
    lines.append("Asha Rao,Nagpur,D-20,http://192.168.1.20/scans/20.jpg")
    lines.append("Ravi Kumar,Pune,D-21,not a url")
    lines.append(
        "Meena Iyer,Thane,D-22," + "https://bucket.s3.amazonaws.com/kyc/" + "x" * 180 + ".jpg"
    )
    lines.append("Meena Iyer,Thane,D-22,https://bucket.s3.amazonaws.com/kyc/other.jpg")
    path = tmp_path / "branch-export.csv"
    path.write_text("\n".join(lines) + "\n")
    page.goto(dashboard.url)
    settle(page)
    choose(page, path)
    expect(metric(page, "With errors")).to_have_text("4")
    table = page.locator(".st-key-fix_rows")
    expect(table.get_by_test_id("stDataFrame")).to_have_count(1)
    # Words, not codes, in the filter; the codes stay for the CLI.
    expect(page.get_by_text("Link to a private address").first).to_be_visible()
    expect(page.get_by_text("URL_PRIVATE_HOST")).to_have_count(0)
    screenshot(page, "upload-problems-table")
