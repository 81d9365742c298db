"""Issue 11's walk in real Chromium: the 500-row sheet with extra columns (tests/walk_support.py),
two rows fixed by keyboard in the problem grid and the rest in error left out, sent, then the
balance on Batches and Results, the fixed cells in the downloaded reconciliation report, and
"my sheet with results" downloaded and compared cell for cell with the sheet as uploaded.
Then ten documents reviewed on the Review page with the keyboard only (two corrected, one
rejected), and the corrections found in every download, the balance unchanged on both pages.
"""

from __future__ import annotations

import io
import json
import re

import pandas as pd
import pytest
from playwright.sync_api import Page, expect
from report_support import read_report
from screens import settle
from test_review_browser import press, shown_document, tab_to
from test_upload_flow_browser import choose_file, download, go, metric, send, wait_until_settled
from walk_support import (
    CORRECTED_AT,
    REVIEWED,
    REVIEWER,
    WALK_SUBMITTER,
    Reviewed,
    WalkSheet,
    check_corrections_everywhere,
)

from atlas_core.ledger import Ledger
from atlas_core.ledger import states as S
from atlas_core.neutralise import neutralise_text
from atlas_core.results.downloads import FORMAT_NAMES
from atlas_core.review import ReviewPolicy

pytestmark = pytest.mark.browser

FIXED_BY_KEYBOARD = 2
WAIT = 90_000  # ms: 500 documents through the worker and the sandbox on two shared cores


def fix_first_problem_link(page: Page, old: str, new: str) -> None:
    """Type ``new`` into the link cell of the first row of the (canvas) problem grid."""
    editor = page.locator(".st-key-fix_rows").get_by_test_id("stDataFrame")
    # after a re-check the grid is a new element (a new key); the old one leaves a moment later
    expect(editor).to_have_count(1)
    editor.scroll_into_view_if_needed()
    box = editor.bounding_box()
    page.mouse.click(box["x"] + 30, box["y"] + 35 + 17)  # first data row, first column (Row)
    # Row, What to do, three of the sheet's own columns, the ID, then the link.
    for _ in range(6):
        page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    cell = page.locator("textarea.gdg-input")
    expect(cell).to_have_value(old)  # the editor opened on the cell we mean
    cell.fill(new)
    cell.press("Enter")
    settle(page)


def test_walk_500_rows_fix_two_leave_out_the_rest_and_find_the_balance(launch_dashboard, page: Page,
                                                                       tmp_path):
    sheet = WalkSheet.make(fixed_in_app=FIXED_BY_KEYBOARD)
    app = launch_dashboard("walk", ATLAS_SANDBOX_BEHAVIOUR=json.dumps({"processing_seconds": 0.3}))
    page.goto(app.url)
    settle(page)
    choose_file(page, tmp_path, sheet.name, sheet.csv())
    expect(metric(page, "Rows")).to_have_text("500")
    expect(metric(page, "With errors")).to_have_text(str(len(sheet.broken)))
    for row, url in sorted(sheet.fixed.items()):  # one fix and re-check at a time, by keyboard
        fix_first_problem_link(page, sheet.broken[row], url)
        page.get_by_role("button", name="Re-check with my fixes").click()
        settle(page)
    expect(metric(page, "With errors")).to_have_text(str(len(sheet.left_out_rows())))
    send(page, WALK_SUBMITTER)
    page.get_by_role("button", name=f"Send {sheet.to_send()} documents").click()
    settle(page)
    expect(page.get_by_text("Your last upload")).to_be_visible(timeout=WAIT)

    go(page, "Batches")
    wait_until_settled(page, Ledger(app.workdir / "atlas.db"), 1)
    expected = expected_sentence = sheet.expected_balance()
    main = page.locator("[data-testid=stMain] [data-testid=stMarkdownContainer]")
    expect(main.get_by_text(f"Did every row come back? {expected}")).to_be_visible(timeout=WAIT)

    go(page, "Results")
    page.get_by_test_id("stSelectbox").filter(has_text="Upload").first.click()
    page.get_by_role("option", name=re.compile(rf"^Upload 1 · {re.escape(sheet.name)}")).click()
    settle(page)
    expect(main.get_by_text(f"Did every row come back? {expected}")).to_be_visible()
    report = read_report(download(page, "Reconciliation report (CSV)"))
    assert report["sentence"] == expected
    assert report["counts"] == sheet.expected_counts()
    fixes = report["fixes"]
    assert list(zip(fixes["row_number"].astype(int), fixes["old_value"], fixes["new_value"],
                    strict=True)) == [(row, sheet.broken[row], url) for row, url in sorted(sheet.fixed.items())]
    assert set(fixes["fixed_by"]) == {WALK_SUBMITTER}

    mine = pd.read_csv(io.BytesIO(download(page, "My sheet with results: 500 rows (CSV)")),
                       encoding="utf-8-sig", dtype=str, keep_default_na=False)
    expected = sheet.frame.copy()
    for row, url in sheet.fixed.items():  # a fixed cell holds what was sent
        expected.loc[row - 2, sheet.url_column] = url
    assert list(mine.columns[: len(sheet.columns)]) == sheet.columns
    assert mine[sheet.columns].equals(expected.map(neutralise_text))  # every cell, in row order
    assert list(mine["status"]).count("left out") == len(sheet.left_out_rows())
    expect(page.get_by_test_id("stException")).to_have_count(0)

    done = review_ten_by_keyboard(page, Ledger(app.workdir / "atlas.db"))
    page.get_by_text("Review in Excel").click()
    files = {"review_download": download(page, "Download the review queue (Excel)")}
    go(page, "Results")
    page.get_by_test_id("stSelectbox").filter(has_text="Upload").first.click()
    page.get_by_role("option", name=re.compile(rf"^Upload 1 · {re.escape(sheet.name)}")).click()
    settle(page)
    expect(main.get_by_text(f"Did every row come back? {expected_sentence}")).to_be_visible()
    labels = {
        "download_sheet_csv": "My sheet with results: 500 rows (CSV)",
        "download_sheet_xlsx": "My sheet with results: 500 rows (Excel)",
        "download_csv_wide": re.compile(r"^Download [\d,]+ documents \(CSV, one row each\)$"),
        "download_csv_long": re.compile(r"^Download [\d,]+ documents \(CSV, one row per field\)$"),
        "download_xlsx": re.compile(rf"^Download [\d,]+ documents \({FORMAT_NAMES['xlsx']}\)$"),
        "download_json": re.compile(rf"^Download [\d,]+ documents \({FORMAT_NAMES['json']}\)$"),
    }
    files |= {key: download(page, label) for key, label in labels.items()}
    check_corrections_everywhere(files, sheet, done)
    go(page, "Batches")
    expect(main.get_by_text(f"Did every row come back? {expected_sentence}")).to_be_visible()
    expect(page.get_by_test_id("stException")).to_have_count(0)


def review_ten_by_keyboard(page: Page, ledger: Ledger) -> Reviewed:
    """Ten documents decided on the Review page with keys only: type into the weak field the cursor
    waits in, Ctrl+Enter to confirm (saving a correction), Ctrl+Shift+X to reject."""
    go(page, "Review")
    prompt = page.get_by_label("Your name (recorded with each decision)")
    heading = page.get_by_role("heading", name="Document ", exact=False).first
    expect(prompt.or_(heading)).to_be_visible()
    if prompt.count():  # this session has no reviewer's name yet: typed, Tab to reach the box
        tab_to(page, "e && e.getAttribute('aria-label') === 'Your name (recorded with each decision)'",
               "the name box")
        page.keyboard.type(REVIEWER)
        page.keyboard.press("Enter")
        settle(page)
    rule = ledger.review_policy(ReviewPolicy())
    rows = {r["document_id"]: int(r["id"]) for r in ledger.iter_documents(upload_id=1)}
    done = Reviewed()
    doc = shown_document(page)
    for n in range(REVIEWED):
        decision = done.decision_at(n)
        if decision == "correct":
            fields = ledger.review_item(rows[doc], rule).fields
            weak = next(i for i, f in enumerate(fields) if f.weak)
            box = f".st-key-review_field_{rows[doc]}_{weak}"
            page.wait_for_function(f"() => !!document.activeElement.closest('{box}')")
            atlas = page.evaluate("() => document.activeElement.value")
            page.keyboard.press("Control+A")
            page.keyboard.type(CORRECTED_AT[n])
            done.corrections[doc] = (fields[weak].name, atlas, CORRECTED_AT[n])
        done.decisions[doc] = decision
        doc = press(page, "Control+Shift+X" if decision == "reject" else "Control+Enter", leaving=doc)
    expect(page.get_by_test_id("stException")).to_have_count(0)
    states = {d: ledger.review_item(rows[d], rule) for d in done.decisions}
    assert {d: i.state for d, i in states.items()} == {
        d: {"correct": S.CORRECTED, "reject": S.REVIEW_REJECTED, "confirm": S.CONFIRMED}[x]
        for d, x in done.decisions.items()}
    assert {d: states[d].corrections for d in done.corrections} == {
        d: {name: new} for d, (name, _, new) in done.corrections.items()}
    return done
