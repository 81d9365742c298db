"""One rule decides each row's fate; the ledger records a plan's decision and re-checks it."""

from __future__ import annotations

import pytest

from atlas_core.engine import plan_upload, queue_upload
from atlas_core.errors import LedgerError
from atlas_core.intake import read_spreadsheet, validate_sheet
from atlas_core.ledger import Ledger, RowRecord, UploadRecord
from atlas_core.ledger import states as S
from atlas_core.ledger.dispositions import decide_rows

Q, D, H, X = S.ROW_QUEUED, S.ROW_DUPLICATE, S.ROW_HELD, S.ROW_INVALID


def rows_of(*ids: str | None) -> list[RowRecord]:
    """Rows numbered from 2; None is an invalid row."""
    return [RowRecord(n + 2, doc_id, f"https://docs.test/{doc_id}.jpg", doc_id is not None)
            for n, doc_id in enumerate(ids)]


@pytest.mark.parametrize(
    ("ids", "live", "options", "expected"),
    [
        (["a", "b", None], set(), {}, (Q, Q, X)),
        (["a", "b", "a"], set(), {}, (Q, Q, D)),  # twice in one sheet: the first is sent
        (["a", "b", "c"], {"b"}, {}, (Q, D, Q)),  # already submitted
        (["a", "b", "a"], {"b"}, {"force": True}, (Q, Q, Q)),  # forced: every valid row
        (["a", "b", "c", "d"], set(), {"pilot": 2}, (Q, Q, H, H)),
        (["a", "a", "b", "c"], {"c"}, {"pilot": 1}, (Q, D, H, D)),  # duplicates are never held
        (["a", "b"], set(), {"pilot": 0}, (H, H)),
        ([], set(), {}, ()),
    ],
)
def test_each_row_is_queued_skipped_held_or_invalid(ids, live, options, expected):
    assert decide_rows(rows_of(*ids), live, **options) == expected


@pytest.fixture
def ledger(ledger_location):
    opened = Ledger(ledger_location)
    yield opened
    opened.close()


def plan_for(ledger, tmp_path, ids, **options):
    path = tmp_path / "docs.csv"
    path.write_text("document_id,file_url\n" + "".join(
        f"{i},https://docs.test/ok/{i}.jpg\n" for i in ids), encoding="utf-8")
    sheet = read_spreadsheet(path)
    return plan_upload(ledger, sheet, validate_sheet(sheet), product_type="POC_CDL",
                       chunk_size=10, **options)


def test_the_ledger_records_the_plan_as_decided(ledger, tmp_path):
    ledger.record_upload(UploadRecord("old.csv", "POC_CDL"), rows_of("P1"), chunk_size=10)
    plan = plan_for(ledger, tmp_path, ["P0", "P1", "P2", "P3", "P0"], pilot=1)
    # An exact repeat (same ID, same link) is sent once: the first copy, never the second.
    assert plan.dispositions == (Q, D, H, H, D)
    queued = queue_upload(ledger, plan)
    assert (queued.queued, queued.held, queued.skipped_ids) == (1, 2, ("P1", "P0"))
    recorded = [r["disposition"] for r in ledger.iter_upload_rows(queued.upload_id)]
    assert tuple(recorded) == plan.dispositions


def test_an_id_submitted_since_planning_refuses_the_plan_and_records_nothing(ledger, tmp_path):
    plan = plan_for(ledger, tmp_path, ["P0", "P1", "P2"])
    assert plan.to_send == 3
    # Someone else sends P1 between the check and the click on Send.
    ledger.record_upload(UploadRecord("other.csv", "POC_CDL"), rows_of("P1"), chunk_size=10)
    with pytest.raises(LedgerError, match="submitted since it was checked"):
        queue_upload(ledger, plan)
    assert ledger.list_uploads()[1] == 1  # only the other upload
    assert list(ledger.known_ids(["P0", "P2"])) == []


def test_a_forced_plan_is_recorded_even_when_an_id_was_submitted_since(ledger, tmp_path):
    plan = plan_for(ledger, tmp_path, ["P0", "P1"], force=True)
    ledger.record_upload(UploadRecord("other.csv", "POC_CDL"), rows_of("P1"), chunk_size=10)
    assert queue_upload(ledger, plan).queued == 2


def test_a_plan_for_other_rows_is_refused(ledger):
    with pytest.raises(ValueError):
        ledger.record_upload(UploadRecord("a.csv", "POC_CDL"), rows_of("a", "b"), chunk_size=10,
                             dispositions=(Q,))
