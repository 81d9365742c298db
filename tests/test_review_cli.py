"""`review export` and `review import` through cli.main against the sandbox: submit, refresh, export
the queue, change cells offline, see every change, apply, and find the corrections in the exports."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import openpyxl
import pytest
from test_cli_jobs import cli, sheet, submit

from atlas_core.cli import exitcodes
from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from atlas_core.ledger import Ledger
from atlas_core.review import ReviewPolicy


@pytest.fixture
def reviewed_env(sandbox, tmp_path, monkeypatch) -> Path:
    """The CLI pointed at the sandbox, with every extracted document in the review queue."""
    for key, value in {"ATLAS_BASE_URL": sandbox.url, "ATLAS_CLIENT_ID": SANDBOX_CLIENT_ID,
                       "ATLAS_CLIENT_SECRET": SANDBOX_CLIENT_SECRET, "ATLAS_DB_PATH": str(tmp_path / "atlas.db"),
                       "ATLAS_REVIEW_THRESHOLD": "1.0", "ATLAS_REVIEW_SAMPLE_RATE": "0"}.items():
        monkeypatch.setenv(key, value)
    return tmp_path


@pytest.fixture
def queue_file(reviewed_env, capsys) -> Path:
    """Six documents submitted, refreshed to the end, and the review queue exported."""
    code, result, _ = submit(capsys, sheet(reviewed_env, [f"R{i}" for i in range(6)]))
    assert code == exitcodes.OK and result["submitted"] == 6
    code, _, err = cli(capsys, "refresh", "--wait", "--timeout", "60")
    assert code == exitcodes.OK, err
    path = reviewed_env / "queue.xlsx"
    code, out, err = cli(capsys, "review", "export", "--output", str(path))
    assert code == exitcodes.OK, err
    assert "document(s) waiting for review" in out
    return path


def _edit(path: Path, edits: dict[tuple[int, str], object]) -> None:
    workbook = openpyxl.load_workbook(path)
    sheet_ = workbook["review"]
    header = [c.value for c in sheet_[1]]
    for (row, name), value in edits.items():
        sheet_.cell(row=row, column=header.index(name) + 1).value = value
    workbook.save(path)


def _first_field(path: Path) -> tuple[str, str, object]:
    """(document_id, field, value) of the first row's first filled field column."""
    sheet_ = openpyxl.load_workbook(path)["review"]
    header = [c.value for c in sheet_[1]]
    row = [c.value for c in sheet_[2]]
    start = header.index("weak_fields") + 1
    i = next(i for i in range(start, len(header) - 1) if row[i] not in (None, ""))
    return row[header.index("document_id")], header[i], row[i]


def test_import_shows_every_change_and_applies_only_with_apply(queue_file, capsys, reviewed_env):
    document_id, field, old = _first_field(queue_file)
    _edit(queue_file, {(2, field): "CORRECTED BY HAND"})
    code, out, _ = cli(capsys, "review", "import", str(queue_file))
    assert code == exitcodes.OK
    assert f'row 2  {document_id}  {field}: {json.dumps(str(old), ensure_ascii=False)} -> "CORRECTED BY HAND"' in out
    assert "Nothing was applied" in out

    export = reviewed_env / "before.csv"
    cli(capsys, "export", "--output", str(export), "--layout", "long")
    assert "CORRECTED BY HAND" not in export.read_text(encoding="utf-8-sig")

    code, out, _ = cli(capsys, "review", "import", str(queue_file), "--apply", "--by", "asha")
    assert code == exitcodes.OK and "Applied 1 change(s) as asha." in out

    long_csv = reviewed_env / "long.csv"
    assert cli(capsys, "export", "--output", str(long_csv), "--layout", "long")[0] == exitcodes.OK
    rows = list(csv.DictReader(io.StringIO(long_csv.read_text(encoding="utf-8-sig"))))
    (fixed,) = [r for r in rows if r["document_id"] == document_id and r["field"] == field]
    assert (fixed["atlas_value"], fixed["value"]) == (str(old), "CORRECTED BY HAND")
    wide = reviewed_env / "wide.xlsx"
    assert cli(capsys, "export", "--output", str(wide))[0] == exitcodes.OK
    sheet_ = openpyxl.load_workbook(wide).active
    header = [c.value for c in sheet_[1]]
    by_id = {r[0].value: {h: c.value for h, c in zip(header, r, strict=True)} for r in sheet_.iter_rows(min_row=2)}
    assert by_id[document_id][field] == "CORRECTED BY HAND" and by_id[document_id]["corrected_fields"] == field

    # the applied file again: nothing left to change; the queue is one shorter
    code, out, _ = cli(capsys, "review", "import", str(queue_file), "--json")
    assert code == exitcodes.OK and json.loads(out)["changes"] == []


def test_refused_cells_are_listed_and_apply_exits_6(queue_file, capsys):
    _, field, _ = _first_field(queue_file)
    _edit(queue_file, {(2, "document"): 424242, (2, field): "X", (3, field): "=1+1"})
    code, out, _ = cli(capsys, "review", "import", str(queue_file))
    assert code == exitcodes.OK and "424242" in out and "not in the ledger" in out and "formula" in out
    code, out, _ = cli(capsys, "review", "import", str(queue_file), "--apply", "--by", "asha")
    assert code == exitcodes.INCOMPLETE and "0 changed cell(s)" in out


@pytest.mark.parametrize("make", [
    lambda folder: folder / "missing.xlsx",
    lambda folder: (folder / "plain.xlsx").write_text("not a workbook") and folder / "plain.xlsx",
])
def test_an_unusable_import_file_is_one_plain_line_and_exit_2(reviewed_env, capsys, make):
    code, out, err = cli(capsys, "review", "import", str(make(reviewed_env)))
    assert code == exitcodes.UNREADABLE and err.startswith("error: ") and "Traceback" not in err + out
    assert len(err.strip().splitlines()) == 1


def test_export_refuses_another_suffix_and_an_unknown_upload(reviewed_env, capsys):
    code, _, err = cli(capsys, "review", "export", "--output", str(reviewed_env / "queue.csv"))
    assert code == exitcodes.UNREADABLE and ".xlsx" in err
    code, _, err = cli(capsys, "review", "export", "--output", str(reviewed_env / "q.xlsx"), "--upload", "77")
    assert code == exitcodes.UNREADABLE and "no upload 77" in err


def test_export_and_import_keep_the_rule_the_review_page_set(reviewed_env, capsys):
    """The settings say 1.0 (every document); the Review page chose 0.0 (none): the CLI follows the
    page and leaves its rule in place, rather than choosing the queue again with the settings."""
    code, result, _ = submit(capsys, sheet(reviewed_env, [f"R{i}" for i in range(4)]))
    assert code == exitcodes.OK and result["submitted"] == 4
    assert cli(capsys, "refresh", "--wait", "--timeout", "60")[0] == exitcodes.OK
    ledger = Ledger(reviewed_env / "atlas.db")
    page_rule = ReviewPolicy(0.0, 0.0)
    ledger.sync_reviews(page_rule)  # what the page's threshold slider does (ui/review_actions.py)

    path = reviewed_env / "queue.xlsx"
    code, out, err = cli(capsys, "review", "export", "--output", str(path))
    assert code == exitcodes.OK, err
    assert "Wrote 0 document(s) waiting for review" in out
    assert openpyxl.load_workbook(path)["review"].max_row == 1  # the header only
    assert ledger.review_policy(ReviewPolicy(1.0, 0.0)).key == page_rule.key
    assert ledger.review_counts(page_rule).to_review == 0

    code, out, _ = cli(capsys, "review", "import", str(path), "--json")
    assert code == exitcodes.OK and json.loads(out)["changes"] == []
    assert ledger.review_policy(ReviewPolicy(1.0, 0.0)).key == page_rule.key
