"""`status` shows each upload's balance and `reconcile` reports it, through cli.main against the
sandbox: the same sentence as the pages, the exceptions by sheet row, the report file, exit codes."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest
from test_cli_jobs import cli, sheet, submit
from test_cli_jobs import env as cli_env

from atlas_core.cli import exitcodes
from atlas_core.ledger import CellFix, Ledger, RowRecord, UploadRecord

env = pytest.fixture(cli_env.__wrapped__, name="env")  # the job commands' environment


def finished(capsys, sandbox) -> None:
    """Let the sandbox finish every document and store the results."""
    sandbox.advance(60)
    code, _, _ = cli(capsys, "refresh", "--wait", "--timeout", "30")
    assert code == exitcodes.OK


def test_status_shows_each_uploads_balance(env, tmp_path, capsys, sandbox):
    submit(capsys, sheet(tmp_path, ["A1", "A2", "F1"], bad_rows=2))  # F1 fails, 2 rows invalid
    _, second, _ = submit(capsys, sheet(tmp_path, ["B1", "B2", "B3"], name="b.csv"), "--pilot", "1")
    finished(capsys, sandbox)
    code, out, _ = cli(capsys, "status")
    assert code == exitcodes.OK
    assert "upload 1: 5 rows: 2 extracted, 1 failed, 2 left out, 0 missing, 0 pending" in out
    assert f"upload {second['upload_id']}: 3 rows: 1 extracted, 0 failed, 2 left out, 0 missing, 0 pending" in out
    code, out, _ = cli(capsys, "status", "--upload", "1", "--json")
    (upload,) = json.loads(out)["uploads"]
    assert {k: upload[k] for k in ("upload_id", "rows", "extracted", "failed", "left_out", "missing",
                                   "pending")} == {"upload_id": 1, "rows": 5, "extracted": 2,
                                                   "failed": 1, "left_out": 2, "missing": 0,
                                                   "pending": 0}
    assert upload["sentence"] == "5 rows: 2 extracted, 1 failed, 2 left out, 0 missing, 0 pending"


def test_reconcile_lists_exceptions_by_row_and_writes_the_report(env, tmp_path, capsys, sandbox):
    submit(capsys, sheet(tmp_path, ["A1", "F1"], bad_rows=1))
    code, out, _ = cli(capsys, "reconcile", "--upload", "1")
    assert code == exitcodes.INCOMPLETE  # sent, no result yet
    assert "3 rows: 0 extracted, 0 failed, 1 left out, 0 missing, 2 pending" in out
    finished(capsys, sandbox)
    target = tmp_path / "report.csv"
    code, out, err = cli(capsys, "reconcile", "--upload", "1", "--output", str(target))
    assert code == exitcodes.OK and err == ""
    assert out.startswith("Upload 1: 3 rows: 1 extracted, 1 failed, 1 left out, 0 missing, 0 pending.")
    assert "row 3: failed (F1)" in out and "row 4: invalid (BAD0)" in out
    assert "0 cell(s) fixed in the app before sending." in out
    lines = list(csv.reader(io.StringIO(target.read_bytes().decode("utf-8-sig"))))
    assert lines[0] == ["Reconciliation of upload 1 (docs.csv)"]
    assert lines[1] == ["Balance", "3 rows: 1 extracted, 1 failed, 1 left out, 0 missing, 0 pending"]
    assert lines[2][:6] == ["rows", "extracted", "failed", "left_out", "missing", "pending"]
    assert lines[3][:6] == ["3", "1", "1", "1", "0", "0"]
    code, out, _ = cli(capsys, "reconcile", "--upload", "1", "--json")
    report = json.loads(out)
    assert [(e["row_number"], e["balance"], e["kind"]) for e in report["exceptions"]] == [
        (3, "failed", "failed"), (4, "left out", "invalid")]


def test_reconcile_lists_fixed_cells_neutralised_in_the_file(env, tmp_path, capsys):
    ledger = Ledger(env)
    fixes = (CellFix(2, "file_url", "htp//bad", "=HYPERLINK(\"http://evil\")"),)
    ledger.record_upload(UploadRecord("s.csv", "POC_CDL", submitted_by="Asha"),
                         [RowRecord(2, "A", "https://docs.test/ok/A.jpg", True)], chunk_size=10,
                         fixes=fixes, now=0.0)
    target = tmp_path / "report.csv"
    code, out, _ = cli(capsys, "reconcile", "--upload", "1", "--output", str(target))
    assert "1 cell(s) fixed in the app before sending." in out
    lines = list(csv.reader(io.StringIO(target.read_bytes().decode("utf-8-sig"))))
    at = lines.index(["Cells fixed in the app before sending (1)"])
    assert lines[at + 1] == ["row_number", "column", "old_value", "new_value", "fixed_by",
                             "fixed_at_utc"]
    assert lines[at + 2] == ["2", "file_url", "htp//bad", "'=HYPERLINK(\"http://evil\")", "Asha",
                             "1970-01-01 00:00:00"]
    code, out, _ = cli(capsys, "reconcile", "--upload", "1", "--json")
    assert json.loads(out)["fixed_cells"][0]["new_value"] == "=HYPERLINK(\"http://evil\")"  # JSON: exact


def test_a_missing_row_exits_incomplete_with_a_warning(env, tmp_path, capsys, sandbox):
    submit(capsys, sheet(tmp_path, ["A1", "A2"]))
    finished(capsys, sandbox)
    conn = sqlite3.connect(env)
    with conn:  # damage: row 3's document is gone
        conn.execute("DELETE FROM documents WHERE row_number = 3")
    conn.close()
    code, out, _ = cli(capsys, "status")
    assert "upload 1: 2 rows: 1 extracted, 0 failed, 0 left out, 1 missing, 0 pending" in out
    assert "(check: `reconcile --upload 1`)" in out
    code, out, err = cli(capsys, "reconcile", "--upload", "1")
    assert code == exitcodes.INCOMPLETE
    assert "row 3: missing (A2)" in out and "1 row(s) missing" in err


def test_reconcile_of_an_unknown_upload_says_so(env, capsys):
    Ledger(env)
    code, _, err = cli(capsys, "reconcile", "--upload", "7")
    assert code == exitcodes.UNREADABLE and "There is no upload 7" in err
