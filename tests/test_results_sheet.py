"""My sheet with results: the upload's own spreadsheet, every row in order, with its results.

Through the CLI against the sandbox (submit, retry, a second upload with an ID already sent),
and through the ledger for the cases the CLI cannot make (old rows without cells, clashes).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest
from test_cli_jobs import cli, env, submit  # noqa: F401 (env is a fixture)

from atlas_core.cli import exitcodes
from atlas_core.ledger import Ledger, RowRecord, UploadRecord
from atlas_core.results.downloads import write_upload_sheet
from atlas_core.results.layout import unclashed

HEADER = ["Sr", "Applicant Ref", "Name", "Document Link", "status"]
RESULTS = ["atlas_status", "needs_review", "lowest_confidence", "document_type", "error"]


def analyst_sheet(tmp_path: Path, name: str, rows: list[list[str]]) -> Path:
    """A CSV with the analyst's own columns around the ID and the link."""
    path = tmp_path / name
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def link(kind: str, ref: str) -> str:
    return f"https://docs.test/{kind}/{ref}.jpg"


@pytest.fixture
def two_uploads(env, tmp_path, capsys, sandbox):  # noqa: F811 (env is the fixture imported above)
    """Upload 1: five rows (one invalid, one failing for good, one timing out then retried);
    upload 2 sends A-1 again (left out: already sent) and a new one."""
    first = analyst_sheet(tmp_path, "first.csv", [
        ["1", "A-1", "Ravi", link("aadhaar", "A-1"), "new"],
        ["2", "A-2", "=HYPERLINK(\"x\")", "not a link", "new"],
        ["3", "A-3", "Gita", link("pan", "A-3"), "new"],
        ["4", "A-4", "Om", link("unreadable", "A-4"), "new"],
        ["5", "A-5", "Ila", link("timeout", "A-5"), "new"],
    ])
    args = ("--id-column", "Applicant Ref", "--url-column", "Document Link")
    assert submit(capsys, first, *args)[0] == exitcodes.OK
    sandbox.advance(60)
    cli(capsys, "refresh")
    code, out, _ = cli(capsys, "retry-failed", "--upload", "1")  # A-5 again (a timeout)
    assert code == exitcodes.OK and out.startswith("1 failed document(s)")
    sandbox.advance(60)
    cli(capsys, "refresh")
    second = analyst_sheet(tmp_path, "second.csv", [
        ["1", "A-1", "Ravi", link("aadhaar", "A-1"), "again"],
        ["2", "B-1", "Noor", link("voter", "B-1"), "new"],
    ])
    assert submit(capsys, second, *args)[0] == exitcodes.OK
    sandbox.advance(60)
    cli(capsys, "refresh")
    return tmp_path


def test_cli_sheet_layout_is_the_sheet_as_read_with_results_after(two_uploads, capsys, env):  # noqa: F811
    out = two_uploads / "mine.csv"
    code, printed, _ = cli(capsys, "export", "--layout", "sheet", "--upload", "1", "--output", str(out))
    assert code == exitcodes.OK and "Wrote 5 row(s)" in printed
    rows = read_csv(out)
    header = list(rows[0])
    assert header[: len(HEADER)] == HEADER  # its own headers, in their order
    assert header[len(HEADER): len(HEADER) + 5] == RESULTS  # "status" was the sheet's: prefixed
    assert [r["Applicant Ref"] for r in rows] == ["A-1", "A-2", "A-3", "A-4", "A-5"]
    assert [r["status"] for r in rows] == ["new"] * 5  # the sheet's own column, untouched
    # A-5 timed out twice: its row shows its second attempt, once (a later id than the others)
    assert [r["atlas_status"] for r in rows] == ["extracted", "left out", "extracted", "failed", "failed"]
    assert rows[1]["Name"] == "'=HYPERLINK(\"x\")"  # the sheet's cell, neutralised
    assert rows[1]["error"].startswith("Left out: ") and "web link" in rows[1]["error"]
    assert rows[3]["error"] and rows[3]["needs_review"] == ""
    assert rows[0]["document_type"] == "AADHAAR" and rows[0]["atlas_name"]  # meets "Name"
    assert rows[2]["id_number"] and not rows[3]["id_number"]
    assert all(r["needs_review"] in ("yes", "no") for r in rows if r["atlas_status"] == "extracted")
    attempts = Ledger(env).documents_page(search="A-5", include_superseded=True)[0]
    assert sorted(d["attempt"] for d in attempts) == [1, 2]


def test_a_row_left_out_as_already_sent_says_where_its_id_went(two_uploads, capsys):
    out = two_uploads / "second.xlsx"
    code, _, _ = cli(capsys, "export", "--layout", "sheet", "--upload", "2", "--output", str(out))
    assert code == exitcodes.OK
    workbook = openpyxl.load_workbook(out)
    sheet = workbook.worksheets[0]
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref
    rows = list(sheet.iter_rows(values_only=True))
    header = list(rows[0])
    cells = [dict(zip(header, r, strict=True)) for r in rows[1:]]
    assert [c["Applicant Ref"] for c in cells] == ["A-1", "B-1"]
    assert cells[0]["atlas_status"] == "left out"
    assert cells[0]["error"] == "Left out: this ID was already sent in upload 1 (row 2)."
    assert cells[1]["atlas_status"] == "extracted" and cells[1]["document_type"] == "VOTER_ID"
    ref = header.index("Applicant Ref") + 1
    assert sheet.cell(row=2, column=ref).data_type == "s"  # IDs stored as text
    assert sheet.cell(row=2, column=ref).number_format == "@"
    assert workbook.sheetnames[1:] == ["VOTER_ID"]  # one sheet per type, with its own names
    workbook.close()


def test_cli_sheet_layout_needs_an_upload_and_a_sheet_format(two_uploads, capsys):
    code, _, err = cli(capsys, "export", "--layout", "sheet", "--output", str(two_uploads / "x.csv"))
    assert code != exitcodes.OK and "give --upload N" in err and "Traceback" not in err
    code, _, err = cli(capsys, "export", "--layout", "sheet", "--upload", "1",
                       "--output", str(two_uploads / "x.json"))
    assert code != exitcodes.OK and "CSV or Excel" in err and "Traceback" not in err


def test_cli_review_below_and_filters(two_uploads, capsys):
    out = two_uploads / "review.csv"
    cli(capsys, "export", "--upload", "1", "--review-below", "1", "--output", str(out))
    rows = read_csv(out)
    assert list(rows[0])[:3] == ["Applicant Ref", "row", "Sr"]  # ID and row first, then the sheet
    assert {r["needs_review"] for r in rows if r["atlas_status"] == "extracted"} == {"yes"}
    cli(capsys, "export", "--upload", "1", "--review-below", "0", "--output", str(out))
    assert {r["needs_review"] for r in read_csv(out) if r["atlas_status"] == "extracted"} == {"no"}
    cli(capsys, "export", "--upload", "1", "--state", "failed", "--output", str(out))
    assert [r["Applicant Ref"] for r in read_csv(out)] == ["A-4", "A-5"]
    with pytest.raises(SystemExit) as stopped:  # argparse refuses it, as any bad argument
        cli(capsys, "export", "--review-below", "1.5", "--output", str(out))
    assert stopped.value.code == exitcodes.UNREADABLE
    assert "1.5 is not between 0 and 1" in capsys.readouterr().err


def _ledger_with_rows(tmp_path: Path, columns: tuple[str, ...], rows: list[RowRecord]) -> Ledger:
    ledger = Ledger(tmp_path / "ledger.db")
    upload = UploadRecord("s.csv", "POC", url_column=columns[1], id_column=columns[0], columns=columns)
    ledger.record_upload(upload, rows, chunk_size=10)
    return ledger


def test_rows_stored_without_their_cells_still_come_out_in_order(tmp_path):
    # older ledgers, or a row whose cells could not be stored: the row, the ID and the link stay
    rows = [RowRecord(n, f"D{n}", f"https://x.test/{n}.jpg", True) for n in (2, 3, 7)]
    ledger = _ledger_with_rows(tmp_path, ("ID", "Link", "Note"), rows)
    buffer = io.BytesIO()
    assert write_upload_sheet(ledger, 1, buffer) == 3
    table = list(csv.reader(io.StringIO(buffer.getvalue().decode("utf-8-sig"))))
    assert table[0][:8] == ["ID", "Link", "Note", "status", "needs_review", "lowest_confidence",
                            "document_type", "error"]
    assert [line[0] for line in table[1:]] == ["", "", ""]  # no cells stored: empty, not made up
    assert [line[3] for line in table[1:]] == ["pending"] * 3


def test_the_sheet_streams_page_by_page_in_row_order(tmp_path):
    rows = [RowRecord(n, f"D{n}", f"https://x.test/{n}.jpg", n % 7 != 0,
                      original={"ID": f"D{n}", "Link": f"https://x.test/{n}.jpg"})
            for n in range(2, 2_502)]
    ledger = _ledger_with_rows(tmp_path, ("ID", "Link"), rows)
    got = list(ledger.iter_sheet(1, page_size=100))
    assert [r["row_number"] for r in got] == list(range(2, 2_502))
    assert all((r["document"] is None) == (r["row_number"] % 7 == 0) for r in got)
    assert all(r["document"]["row_number"] == r["row_number"] for r in got if r["document"])


@pytest.mark.parametrize(("names", "taken", "expected"), [
    (["status", "error"], ["Status", "x"], ["atlas_status", "error"]),
    (["name"], [" NAME ", "atlas_name"], ["atlas_2_name"]),
    (["row", "row"], [], ["row", "atlas_row"]),
])
def test_result_columns_never_take_a_sheet_column_name(names, taken, expected):
    assert unclashed(names, taken) == expected
