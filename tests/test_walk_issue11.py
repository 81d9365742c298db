"""Issue 11's acceptance walk under AppTest: a 500-row sheet with extra columns, some rows fixed in
the app and some left invalid, from upload to sent to results; the balance on the Batches and
Results pages, and the reconciliation report with the cells fixed before sending.

The sheet, its expected outcome and the walk's steps live in tests/walk_support.py, shared with
the Chromium walk (tests/browser/test_walk_issue11_browser.py). "My sheet with results" (the
`sheet` layout, merged from i11-exports) is checked cell for cell against the sheet as uploaded:
every original column in its order, every row in its order, a fixed cell holding what was sent.
Then ten documents are reviewed on the Review page through its buttons (two corrected, one
rejected; the Chromium walk does it with the keyboard only), and the corrections are found in
every download and the balance is unchanged on the Batches and Results pages.
"""

from __future__ import annotations

import io

import pandas as pd
import pytest
from report_support import read_report
from test_pages_support import (  # noqa: F401 (released_runtimes: a fixture, for pytestmark)
    PAGES,
    Downloads,
    finish_processing,
    ledger_of,
    open_app,
    released_runtimes,
    texts,
)
from walk_support import (
    CORRECTED_AT,
    REVIEWED,
    WALK_SUBMITTER,
    Reviewed,
    WalkSheet,
    check_corrections_everywhere,
)

from atlas_core.ledger import states as S
from atlas_core.neutralise import neutralise_text
from atlas_core.review import ReviewPolicy

pytestmark = pytest.mark.usefixtures("released_runtimes")


@pytest.fixture
def walked(tmp_path, monkeypatch):
    """The walk done up to the results: (app, ledger, downloads, sheet, upload row)."""
    sheet = WalkSheet.make()
    downloads = Downloads(monkeypatch)
    at = open_app(tmp_path, monkeypatch, page="Upload")
    at.file_uploader[0].set_value((sheet.name, sheet.csv(), "text/csv")).run()
    assert at.exception == [], [e.value for e in at.exception]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Rows"] == "500" and metrics["With errors (left out)"] == str(len(sheet.broken))
    # Fix the first rows in error in the grid; the others are left out (the analyst's "drop").
    editor = at.data_editor[0]
    grid = editor.value
    assert list(grid["Row"].astype(int)) == sheet.broken_rows()
    at.session_state[editor.key] = {
        "edited_rows": {
            i: {sheet.url_column: sheet.fixed[row]} for i, row in enumerate(sheet.broken_rows())
            if row in sheet.fixed
        },
        "added_rows": [],
        "deleted_rows": [],
    }
    at.button(key="revalidate").click().run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["With errors (left out)"] == str(len(sheet.left_out_rows()))
    at.text_input(key="submitter_input").input(WALK_SUBMITTER).run()
    at.button(key="review").click().run()
    at.button(key="confirm_send").click().run()
    assert at.exception == [], [e.value for e in at.exception]
    ledger = ledger_of(tmp_path)
    row = finish_processing(at, ledger, 1, sheet.to_send())
    return at, ledger, downloads, sheet, row


def test_the_walk_balances_on_both_pages_and_in_the_report(walked):
    at, ledger, downloads, sheet, row = walked
    expected = sheet.expected_balance()
    assert (row["extracted"], row["failed"]) == (sheet.to_send() - len(sheet.failing),
                                                len(sheet.failing))
    assert ledger.upload_balance(1).sentence() == expected
    # Batches: the uploads table and the opened upload's card.
    at.switch_page(PAGES["Batches"]).run()
    table = next(d for d in at.dataframe if d.proto.id and "uploads_table" in d.proto.id).value
    assert table.set_index("Upload")["Balance"][1] == expected
    assert f"**Did every row come back?** {expected}" in texts(at, "markdown")  # one upload: opened
    # Results: the chosen upload's balance, then the reconciliation report.
    at.switch_page(PAGES["Results"]).run()
    at.selectbox(key="results_upload").select_index(1).run()
    assert f"**Did every row come back?** {expected}" in texts(at, "markdown")
    report = read_report(downloads.data(at, "download_reconciliation"))
    assert report["title"] == f"Reconciliation of upload 1 ({sheet.name})"
    assert report["sentence"] == expected
    assert report["counts"] == sheet.expected_counts()
    exceptions = report["exceptions"]
    assert [(int(r), part) for r, part in zip(exceptions["row_number"], exceptions["balance"],
                                              strict=True)] == sheet.expected_exceptions()
    assert all(exceptions["reason"] != "")
    fixes = report["fixes"]
    assert [(int(r), c, old, new) for r, c, old, new in zip(
        fixes["row_number"], fixes["column"], fixes["old_value"], fixes["new_value"], strict=True)
    ] == [(row, sheet.url_column, sheet.broken[row], url) for row, url in sorted(sheet.fixed.items())]
    assert set(fixes["fixed_by"]) == {WALK_SUBMITTER}


def test_the_walk_sends_the_fixed_values_and_keeps_every_sheet_column(walked):
    _, ledger, _, sheet, _ = walked
    rows = list(ledger.iter_upload_rows(1))
    assert [r["row_number"] for r in rows] == sheet.row_numbers()  # every row, in sheet order
    by_number = {r["row_number"]: r for r in rows}
    for number, url in sheet.fixed.items():
        assert by_number[number]["original"][sheet.url_column] == url
        assert by_number[number]["disposition"] == "queued"
    for number in sheet.left_out_rows():
        assert by_number[number]["disposition"] == "invalid"
    first = by_number[sheet.row_numbers()[0]]["original"]
    assert list(first) == sheet.columns  # the extra columns are kept, in the sheet's order
    assert ledger.upload(1)["columns"] == sheet.columns


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_my_sheet_with_results_is_the_sheet_cell_for_cell_then_its_results(walked, fmt):
    at, _, downloads, sheet, _ = walked
    at.switch_page(PAGES["Results"]).run()
    at.selectbox(key="results_upload").select_index(1).run()
    data = downloads.data(at, f"download_sheet_{fmt}")
    frame = (pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)
             if fmt == "csv" else
             pd.read_excel(io.BytesIO(data), dtype=str, keep_default_na=False, engine="openpyxl"))
    assert list(frame.columns[: len(sheet.columns)]) == sheet.columns  # its own headers, in order
    assert list(frame.columns[len(sheet.columns):][:5]) == [
        "status", "needs_review", "lowest_confidence", "document_type", "error"]
    assert len(frame) == len(sheet.rows)  # every row, left-out rows included
    expected = sheet.frame.copy()
    for row, url in sheet.fixed.items():  # a fixed cell holds what was sent
        expected.loc[row - 2, sheet.url_column] = url
    expected = expected.map(neutralise_text)  # sheet values are neutralised on the way out
    got = frame[sheet.columns].reset_index(drop=True)
    differing = (got != expected).to_numpy().nonzero()
    assert len(differing[0]) == 0, [
        (int(r) + 2, sheet.columns[c], got.iat[r, c], expected.iat[r, c])
        for r, c in zip(*differing, strict=True)][:5]
    status = dict(zip(sheet.row_numbers(), frame["status"], strict=True))
    assert {n for n, s in status.items() if s == "failed"} == set(sheet.failing)
    assert {n for n, s in status.items() if s == "left out"} == set(sheet.left_out_rows())
    assert set(status.values()) == {"extracted", "failed", "left out"}


def _shown_document(at) -> str:
    heads = [s.value for s in at.subheader if s.value.startswith("Document ")]
    assert heads, texts(at)
    return heads[0].removeprefix("Document ").replace("\\", "")


def test_ten_reviewed_then_the_corrections_are_in_every_download_and_the_balance_holds(walked):
    at, ledger, downloads, sheet, _ = walked
    expected = sheet.expected_balance()
    at.switch_page(PAGES["Review"]).run()
    # the name typed on the Upload page is the reviewer's name too (one person, one session)
    assert not [t for t in at.text_input if t.key == "reviewer_input"]
    assert at.exception == [], [e.value for e in at.exception]
    rule = ledger.review_policy(ReviewPolicy())
    rows = {r["document_id"]: int(r["id"]) for r in ledger.iter_documents(upload_id=1)}
    done = Reviewed()
    for n in range(REVIEWED):
        doc = _shown_document(at)
        assert doc not in done.decisions
        decision = done.decision_at(n)
        if decision == "correct":
            fields = ledger.review_item(rows[doc], rule).fields
            weak = next(i for i, f in enumerate(fields) if f.weak)
            box = at.text_input(key=f"review_field_{rows[doc]}_{weak}")
            done.corrections[doc] = (fields[weak].name, box.value, CORRECTED_AT[n])
            box.input(CORRECTED_AT[n])
        at.button(key="review_reject" if decision == "reject" else "review_confirm").click().run()
        assert at.exception == [], [e.value for e in at.exception]
        done.decisions[doc] = decision
    states = {d: ledger.review_item(rows[d], rule) for d in done.decisions}
    assert {d: i.state for d, i in states.items()} == {
        d: {"correct": S.CORRECTED, "reject": S.REVIEW_REJECTED, "confirm": S.CONFIRMED}[x]
        for d, x in done.decisions.items()}
    assert {d: states[d].corrections for d in done.corrections} == {
        d: {name: new} for d, (name, _, new) in done.corrections.items()}
    assert {i.decided_by for i in states.values()} == {WALK_SUBMITTER}

    files = {"review_download": downloads.data(at, "review_download")}
    at.switch_page(PAGES["Results"]).run()
    at.selectbox(key="results_upload").select_index(1).run()
    assert f"**Did every row come back?** {expected}" in texts(at, "markdown")
    for key in ("download_sheet_csv", "download_sheet_xlsx", "download_csv_wide", "download_xlsx",
                "download_csv_long", "download_json"):
        files[key] = downloads.data(at, key)
    check_corrections_everywhere(files, sheet, done)
    at.switch_page(PAGES["Batches"]).run()
    assert f"**Did every row come back?** {expected}" in texts(at, "markdown")
    assert at.exception == []
