"""Recording a planned sheet streams its rows into a real SQLite ledger: bounded memory, same rows."""

from __future__ import annotations

import json
import tracemalloc

from atlas_core.engine import plan_upload, queue_upload
from atlas_core.intake import read_spreadsheet, validate_sheet
from atlas_core.ledger import Ledger, RowRecord, UploadRecord
from atlas_core.ledger import states as S


def _sheet(path, n: int, *, start: int = 0) -> object:
    rows = "".join(f"S{i:07d},https://docs.test/ok/S{i:07d}.jpg?sig={'ab' * 40},Customer {i}\n"
                   for i in range(start, start + n))
    path.write_text("document_id,file_url,customer_name\n" + rows, encoding="utf-8")
    return read_spreadsheet(path)


def _queue_peak(ledger: Ledger, path, n: int, start: int) -> int:
    """Python's peak allocation while queueing a planned n-row sheet (planning not counted)."""
    sheet = _sheet(path, n, start=start)
    plan = plan_upload(ledger, sheet, validate_sheet(sheet), product_type="POC_CDL", chunk_size=100)
    tracemalloc.start()
    try:
        queued = queue_upload(ledger, plan)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert queued.queued == n
    return peak


def test_queueing_a_sheet_three_times_as_long_takes_no_more_memory(tmp_path):
    # A tuple of every row, a list of every document and one of every INSERT's values grow
    # with the sheet; a batch at a time does not.
    ledger = Ledger(tmp_path / "ledger.db")
    small = _queue_peak(ledger, tmp_path / "small.csv", 12_000, 0)
    large = _queue_peak(ledger, tmp_path / "large.csv", 36_000, 100_000)
    assert large < 1.5 * small, (small, large)


def test_the_ledger_keeps_every_cell_as_read_in_the_json_text_json_dumps_writes(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text('document_id,file_url,note,"naïve ""quoted"" \\ key"\n'
                    'A1,https://docs.test/ok/A1.jpg,"comma, ""quote"" and \\ backslash",ünïcødé ✓\n'
                    "A2,https://docs.test/ok/A2.jpg,,\n"
                    "A3,,tab\there,\n", encoding="utf-8")
    ledger = Ledger(tmp_path / "ledger.db")
    sheet = read_spreadsheet(path)
    plan = plan_upload(ledger, sheet, validate_sheet(sheet), product_type="POC_CDL", chunk_size=2)
    queued = queue_upload(ledger, plan)
    assert (queued.queued, queued.invalid, len(queued.chunk_ids)) == (2, 1, 1)
    stored = list(ledger.iter_upload_rows(queued.upload_id))
    cells = sheet.frame.to_dict("records")
    assert [r["original"] for r in stored] == cells
    assert [r["disposition"] for r in stored] == [S.ROW_QUEUED, S.ROW_QUEUED, S.ROW_INVALID]
    again = [json.loads(r.original_json) for r in plan.rows]  # the plan's rows can be read again
    assert again == cells
    assert [r.original_json for r in plan.rows] == [json.dumps(c, ensure_ascii=False) for c in cells]


def test_a_plan_s_rows_may_come_from_a_one_shot_iterator(tmp_path):
    ledger = Ledger(tmp_path / "ledger.db")
    rows = [RowRecord(i + 2, f"G{i}", f"https://docs.test/ok/G{i}.jpg", True) for i in range(7)]
    decided = (S.ROW_QUEUED,) * 5 + (S.ROW_HELD,) * 2
    queued = ledger.record_upload(UploadRecord("g.csv", "POC_CDL"), iter(rows), chunk_size=2,
                                  pilot=5, dispositions=decided)
    assert (queued.queued, queued.held, len(queued.chunk_ids)) == (5, 2, 3)
    upload = ledger.upload(queued.upload_id)
    assert (upload["rows_total"], upload["rows_valid"], upload["rows_held"]) == (7, 7, 2)
