"""The review queue's Excel round trip: export, change cells offline, check every change, apply.

Hostile files: formulas, wrong and unknown ids, a document_id that no longer matches, a row twice,
fields a document lacks, a stale export (someone reviewed the document since), a change between
the check and the apply, a file that is no workbook, a zip bomb."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from review_support import extracted_upload

from atlas_core.errors import IntakeError
from atlas_core.ledger import Ledger
from atlas_core.ledger import states as S
from atlas_core.review.queue import ReviewPolicy
from atlas_core.review.workbook import apply_import, check_import, write_queue

POLICY = ReviewPolicy(threshold=0.8, sample_rate=0.0)


@pytest.fixture
def ledger(tmp_path):
    """Four documents, three of them waiting for review (confidence under 0.8)."""
    ledger = Ledger(tmp_path / "atlas.db")
    extracted_upload(ledger, [0.3, 0.5, 0.6, 0.95])
    yield ledger
    ledger.close()


def exported(ledger: Ledger) -> openpyxl.Workbook:
    """The queue export, opened for editing as an analyst would."""
    buffer = io.BytesIO()
    write_queue(ledger, buffer, POLICY)
    return openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))


def saved(workbook: openpyxl.Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def column(sheet, name: str) -> int:
    return [c.value for c in sheet[1]].index(name) + 1


def test_the_export_lists_the_waiting_documents_with_their_fields(ledger):
    sheet = exported(ledger)["review"]
    header = [c.value for c in sheet[1]]
    assert header[:9] == ["document", "version", "document_id", "upload", "row_number", "document_type", "why",
                          "lowest_confidence", "weak_fields"]
    assert header[-1] == "file_url" and "name_as_per_pan" in header and "formatted_address.city" in header
    assert [sheet.cell(row=r, column=3).value for r in range(2, sheet.max_row + 1)] == ["D0000", "D0001", "D0002"]
    assert sheet.cell(row=2, column=column(sheet, "weak_fields")).value == "name_as_per_pan"
    assert sheet.freeze_panes == "A2"


def test_an_unchanged_file_changes_nothing(ledger):
    check = check_import(ledger, saved(exported(ledger)), POLICY)
    assert (check.rows, check.changes, check.refused) == (3, [], [])


def test_changed_cells_are_shown_then_applied_and_leave_the_queue(ledger):
    workbook = exported(ledger)
    sheet = workbook["review"]
    sheet.cell(row=2, column=column(sheet, "name_as_per_pan")).value = "ASHA R RAO"
    sheet.cell(row=3, column=column(sheet, "formatted_address.postcode")).value = 411002  # typed as a number
    check = check_import(ledger, saved(workbook), POLICY)
    assert [(c.document_id, c.field, c.old, c.new) for c in check.changes] == [
        ("D0000", "name_as_per_pan", "ASHA RAO", "ASHA R RAO"),
        ("D0001", "formatted_address.postcode", "411001", "411002"),
    ]
    assert ledger.review_item(1).state == S.TO_REVIEW  # checking writes nothing
    apply_import(ledger, check, "asha")
    assert len(check.applied) == 2 and check.refused == []
    assert ledger.review_item(1).corrections == {"name_as_per_pan": "ASHA R RAO"}
    assert ledger.review_item(2).state == S.CORRECTED and ledger.review_item(2).decided_by == "asha"
    assert ledger.review_counts(POLICY).to_review == 1
    # the same file again: its values are the ledger's now, so nothing changes twice
    again = check_import(ledger, saved(workbook), POLICY)
    assert (again.changes, again.refused) == ([], [])


def test_hostile_cells_are_refused_one_by_one(ledger):
    workbook = exported(ledger)
    sheet = workbook["review"]
    name = column(sheet, "name_as_per_pan")
    sheet.cell(row=2, column=name).value = '=HYPERLINK("http://evil","x")'  # a formula
    sheet.cell(row=3, column=column(sheet, "document")).value = 999  # a document not in the ledger
    sheet.cell(row=3, column=name).value = "X"
    sheet.cell(row=4, column=column(sheet, "document_id")).value = "SOMEONE-ELSE"  # id edited
    sheet.cell(row=4, column=name).value = "Y"
    sheet.append([1, sheet.cell(row=2, column=2).value, "D0000"])  # document 1 twice
    sheet.cell(row=5, column=name).value = "Z"
    sheet.cell(row=1, column=sheet.max_column + 1).value = "favourite_colour"  # not a field
    sheet.cell(row=2, column=sheet.max_column).value = "blue"
    sheet.append(["abc", "", "D0002"])  # not a number
    check = check_import(ledger, saved(workbook), POLICY)
    assert check.changes == []
    reasons = {(r.row, r.column): r.reason for r in check.refused}
    assert "formula" in reasons[(2, "name_as_per_pan")]
    assert "not in the ledger" in reasons[(3, "document")]
    assert "does not match document 3" in reasons[(4, "document_id")]
    assert "also on row 2" in reasons[(5, "document")]
    assert "not a field" in reasons[(2, "favourite_colour")]
    assert "not a document number" in reasons[(6, "document")]


def test_a_neutralised_value_comes_back_as_it_was(tmp_path):
    ledger = Ledger(tmp_path / "atlas.db")
    docs = extracted_upload(ledger, [0.3])
    ledger.decide_review(docs[0], "asha", "correct", {"name_as_per_pan": "-5 ASHA"})

    class Corrected:  # the export of the corrected documents (the queue export takes waiting ones)
        def review_queue(self, policy, upload_id=None):
            return ledger.review_queue(policy, upload_id=upload_id, states=(S.CORRECTED,))

    buffer = io.BytesIO()
    write_queue(Corrected(), buffer, POLICY)
    sheet = openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))["review"]
    assert sheet.cell(row=2, column=column(sheet, "name_as_per_pan")).value == "'-5 ASHA"
    check = check_import(ledger, buffer.getvalue(), POLICY)
    assert check.changes == [] and check.refused == []
    ledger.close()


def test_a_stale_export_is_refused_for_the_cells_someone_else_changed(ledger):
    workbook = exported(ledger)
    ledger.decide_review(1, "ravi", "correct", {"name_as_per_pan": "ASHA RAVI"})
    sheet = workbook["review"]
    sheet.cell(row=2, column=column(sheet, "name_as_per_pan")).value = "ASHA ANALYST"
    sheet.cell(row=3, column=column(sheet, "name_as_per_pan")).value = "FINE"
    check = check_import(ledger, saved(workbook), POLICY)
    assert [(c.document_id, c.new) for c in check.changes] == [("D0001", "FINE")]
    (stale,) = check.refused
    assert stale.document_id == "D0000" and "by ravi" in stale.reason and "ASHA RAVI" in stale.reason


def test_a_review_between_the_check_and_the_apply_is_not_overwritten(ledger):
    workbook = exported(ledger)
    sheet = workbook["review"]
    sheet.cell(row=2, column=column(sheet, "name_as_per_pan")).value = "FROM FILE"
    check = check_import(ledger, saved(workbook), POLICY)
    ledger.decide_review(1, "ravi", "correct", {"name_as_per_pan": "FROM PAGE"})
    apply_import(ledger, check, "asha")
    assert check.applied == [] and "after the file was made" in check.refused[0].reason
    assert ledger.review_item(1).corrections == {"name_as_per_pan": "FROM PAGE"}


def test_a_document_held_on_the_page_is_not_changed_by_a_file(ledger):
    workbook = exported(ledger)
    sheet = workbook["review"]
    sheet.cell(row=2, column=column(sheet, "name_as_per_pan")).value = "FROM FILE"
    check = check_import(ledger, saved(workbook), POLICY)
    assert ledger.claim_next_review("ravi", POLICY).document == 1
    apply_import(ledger, check, "asha")
    assert check.applied == [] and "ravi is reviewing" in check.refused[0].reason


@pytest.mark.parametrize("data", [
    b"document,version\n1,0:1.0\n",  # a CSV
    b"PK\x03\x04 not really a zip",
    b"",
])
def test_a_file_that_is_no_review_workbook_is_refused_plainly(ledger, data):
    with pytest.raises(IntakeError):
        check_import(ledger, data, POLICY)


def test_a_workbook_without_the_key_columns_is_refused(ledger):
    workbook = openpyxl.Workbook()
    workbook.active.append(["name", "value"])
    with pytest.raises(IntakeError, match="not a review queue export"):
        check_import(ledger, saved(workbook), POLICY)


def test_a_zip_bomb_is_refused_before_it_is_unpacked(ledger):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<x/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (3 * 1024 * 1024))
    with pytest.raises(IntakeError, match="unpack"):
        check_import(ledger, buffer.getvalue(), POLICY, max_unpacked=1024 * 1024)
    with pytest.raises(IntakeError, match="larger than"):
        check_import(ledger, b"x" * 2048, POLICY, max_bytes=1024)
