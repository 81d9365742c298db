"""The Review page in real Chromium: ten documents reviewed with the keyboard only, then the ledger.

The ledger holds one finished upload whose links point at a loopback image server, signed like
S3 pre-signed links: the browser loads each image itself (the server counts the requests).
Nothing is clicked: focus moves with Tab, values are typed, decisions are Streamlit shortcuts
(ui/review_keys.py). Also: the axe audit the other pages pass, and the screenshots.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from conftest import start_dashboard
from playwright.sync_api import Page, expect
from screens import screenshot, settle

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from review_page_support import ImageServer, fill_reviews, fresh_link  # noqa: E402

from atlas_core.ledger import Ledger  # noqa: E402
from atlas_core.ledger import states as S  # noqa: E402
from atlas_core.review import ReviewPolicy  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DOCUMENTS = 40
REVIEWER = "Meena"
BLOCKING = {"serious", "critical"}
CORRECTED_AT = {1: "RAVI KUMAR", 4: "14/02/1988"}  # the 2nd and 5th documents get a correction
REJECTED_AT = 6  # the 7th is rejected
SKIP_AT = 2  # before deciding the 3rd, skip one document, go back one, and come forward again


@pytest.fixture(scope="module")
def review_app(tmp_path_factory):
    """A dashboard over a ledger of finished documents whose images a loopback server serves."""
    workdir = tmp_path_factory.mktemp("review")
    with ImageServer() as images:
        fill_reviews(workdir / "atlas.db", DOCUMENTS, url_for=fresh_link(images.base)).close()
        app = start_dashboard(workdir)
        try:
            yield app, images
        finally:
            app.stop()


def tab_to(page: Page, test: str, what: str, limit: int = 80) -> None:
    """Press Tab until the focused element passes ``test`` (JS taking the element): keyboard only."""
    for _ in range(limit):
        if page.evaluate(f"(e => {test})(document.activeElement)"):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {what}")


def shown_document(page: Page) -> str:
    """The document id in the page's subheader."""
    heading = page.get_by_role("heading", name="Document ", exact=False).first
    expect(heading).to_be_visible()
    return heading.inner_text().removeprefix("Document ").strip()


def press(page: Page, keys: str, leaving: str) -> str:
    """Press a shortcut, wait for the page to show another document than ``leaving``, return it."""
    page.keyboard.press(keys)
    settle(page)
    expect(page.get_by_role("heading", name=f"Document {leaving}", exact=True)).to_have_count(0)
    return shown_document(page)


def blocking_violations(page: Page) -> list[str]:
    """axe's serious and critical violations on the page, one line each."""
    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} - e.g. {v['nodes'][0]['target']}"
        for v in results.response["violations"]
        if v.get("impact") in BLOCKING
    ]


def test_ten_documents_reviewed_with_the_keyboard_only(review_app, page: Page):
    app, images = review_app
    page.goto(f"{app.url}/review")
    settle(page)
    expect(page.get_by_role("heading", name="Review", exact=True)).to_be_visible()
    assert blocking_violations(page) == []  # the name prompt
    tab_to(page, "e && e.getAttribute('aria-label') === 'Your name (recorded with each decision)'", "the name box")  # noqa: E501
    page.keyboard.type(REVIEWER)
    page.keyboard.press("Enter")
    settle(page)

    doc = shown_document(page)
    image = page.locator(f'img[alt="Image of document {doc}"]')
    expect(image).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
    assert any(path.startswith(f"/{doc}.png?X-Amz-") for path in images.requests)  # the browser fetched it
    expect(page.get_by_text("weak").first).to_be_visible()
    screenshot(page, "review-document")
    assert blocking_violations(page) == []

    decided: dict[str, tuple[str, dict[str, str]]] = {}
    skipped = None
    ledger = Ledger(app.workdir / "atlas.db")
    rows = {r["document_id"]: int(r["id"]) for r in ledger.documents_page(upload_id=1, limit=100)[0]}
    for n in range(10):
        if n == SKIP_AT:
            skipped = doc
            ahead = press(page, "Control+ArrowDown", leaving=doc)
            back = press(page, "Control+ArrowUp", leaving=ahead)
            assert back in decided  # the one decided before, not the skipped one
            expect(page.get_by_text(f"by {REVIEWER} at")).to_be_visible()
            doc = press(page, "Control+ArrowDown", leaving=back)
            assert doc == ahead
        if n in CORRECTED_AT:
            # The cursor waits in the first weak field; Tab moves to the next one.
            fields = ledger.review_item(rows[doc], ReviewPolicy()).fields
            weak = next(i for i, f in enumerate(fields) if f.weak)
            page.wait_for_function(f"() => !!document.activeElement.closest('.st-key-review_field_{rows[doc]}_{weak}')")
            if n == 4 and weak + 1 < len(fields):
                page.keyboard.press("Tab")
                weak += 1
            assert page.evaluate(f"() => !!document.activeElement.closest('.st-key-review_field_{rows[doc]}_{weak}')")
            page.keyboard.press("Control+A")
            page.keyboard.type(CORRECTED_AT[n])
            decided[doc] = (S.CORRECTED, {fields[weak].name: CORRECTED_AT[n]})
            doc = press(page, "Control+Enter", leaving=doc)
        elif n == REJECTED_AT:
            decided[doc] = (S.REVIEW_REJECTED, {})
            doc = press(page, "Control+Shift+X", leaving=doc)
        else:
            decided[doc] = (S.CONFIRMED, {})
            doc = press(page, "Control+Enter", leaving=doc)
        if n == 1:  # the page right after a correction was saved
            screenshot(page, "review-after-correction")

    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_test_id("stMetric").filter(has_text="Done today by you")).to_contain_text("10")
    screenshot(page, "review-ten-done")

    try:
        for document_id, (state, corrections) in decided.items():
            item = ledger.review_item(rows[document_id], ReviewPolicy())
            assert (item.state, item.decided_by, item.corrections) == (state, REVIEWER, corrections), document_id
            for field in item.fields:  # Atlas's answer is kept beside the correction
                if field.name in corrections:
                    assert field.value != corrections[field.name]
        assert sorted(s for s, _ in decided.values()).count(S.CONFIRMED) == 7
        skipped_item = ledger.review_item(rows[skipped], ReviewPolicy())
        assert (skipped_item.state, skipped_item.claimed_by) == (S.TO_REVIEW, None)
        counts = ledger.review_counts()
        assert counts.by_reviewer == {REVIEWER: 10}
        assert counts.by_state == {S.CONFIRMED: 7, S.CORRECTED: 2, S.REVIEW_REJECTED: 1}
    finally:
        ledger.close()


def test_expired_links_and_the_panels_pass_the_audit(tmp_path, page: Page):
    """A ledger whose links expired: the page says so, and the open panels pass axe too."""
    from datetime import UTC, datetime, timedelta

    from review_page_support import presigned

    signed = datetime.now(UTC) - timedelta(days=3)
    fill_reviews(
        tmp_path / "atlas.db", 12,
        url_for=lambda doc: presigned("https://kyc.s3.ap-south-1.amazonaws.com", f"{doc}.jpg", signed=signed),
    ).close()  # fmt: skip
    app = start_dashboard(tmp_path)
    try:
        page.goto(f"{app.url}/review")
        settle(page)
        name = page.get_by_label("Your name (recorded with each decision)")
        name.fill("Asha")
        name.press("Enter")
        settle(page)
        expect(page.get_by_text("The link to this image expired at")).to_be_visible()
        page.get_by_text("Who is reviewing what").click()
        page.get_by_text("Review in Excel").click()
        settle(page)
        screenshot(page, "review-expired-link")
        assert blocking_violations(page) == []
    finally:
        app.stop()


def test_a_corrected_queue_file_shows_its_changes_before_apply(review_app, page: Page, tmp_path):
    """Download the queue, change two cells offline, upload it: the difference, then Apply."""
    import openpyxl

    app, _ = review_app
    page.goto(f"{app.url}/review")
    settle(page)
    name = page.get_by_label("Your name (recorded with each decision)")
    name.fill("Ravi")
    name.press("Enter")
    settle(page)
    page.get_by_text("Review in Excel").click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the review queue (Excel)").click()
    path = tmp_path / "queue.xlsx"
    download.value.save_as(path)
    book = openpyxl.load_workbook(path)
    sheet = book["review"]
    header = [c.value for c in sheet[1]]
    column = header.index("weak_fields") + 1
    edits = {2: "PRIYA NAIR", 3: "=1+1"}  # a value, and a formula (refused)
    for row, value in edits.items():
        cells = sheet[row]
        target = next(i for i in range(column, len(header) - 1) if cells[i].value not in (None, ""))
        cells[target].value = value
    book.save(path)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(path)
    settle(page)
    expect(page.get_by_text("1 changed cell(s) in 1 document(s)")).to_be_visible()
    expect(page.get_by_text("Cells that will not be applied")).to_be_visible()
    page.get_by_role("button", name="Apply 1 checked change(s)").scroll_into_view_if_needed()
    screenshot(page, "review-excel-diff")
    assert blocking_violations(page) == []
    page.get_by_role("button", name="Apply 1 checked change(s)").click()
    settle(page)
    expect(page.get_by_text("Applied 1 change(s) to 1 document(s) from your file.")).to_be_visible()


def test_a_key_press_keeps_the_rule_another_reviewer_just_set(tmp_path, page: Page):
    """A key press reruns only the document area (a fragment): it must still follow the shared
    rule as it is now, not as it was when the page last ran whole, or it would choose the queue
    again with the old rule under the reviewer who moved the slider."""
    ledger = fill_reviews(tmp_path / "atlas.db", 12)
    app = start_dashboard(tmp_path)
    try:
        page.goto(f"{app.url}/review")
        settle(page)
        name = page.get_by_label("Your name (recorded with each decision)")
        name.fill("Asha")
        name.press("Enter")
        settle(page)
        first = shown_document(page)
        moved = ReviewPolicy(1.0, 1.0)  # another reviewer's slider: every document now
        ledger.sync_reviews(moved)
        press(page, "Control+ArrowDown", leaving=first)
        assert ledger.review_policy(ReviewPolicy()).key == moved.key
        expect(page.get_by_test_id("stException")).to_have_count(0)
    finally:
        app.stop()
        ledger.close()
