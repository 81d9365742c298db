"""The dashboard's plain helpers (no Streamlit run needed): fixes, descriptions, chart data, settings."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from atlas_core.intake import read_spreadsheet, validate_sheet
from atlas_core.ledger import CellFix
from ui import charts, describe, sheet_fixes, untrusted
from ui.settings import atlas_environment

CSV = b"document_id,file_url\nA1,https://b.s3.amazonaws.com/1.jpg\nA2,not-a-link\n,https://b.s3.amazonaws.com/3.jpg\n"


@pytest.fixture
def report():
    return validate_sheet(read_spreadsheet(CSV, filename="t.csv"))


def test_problem_rows_lists_each_row_in_error_once_with_its_reasons(report):
    rows = sheet_fixes.problem_rows(report)
    assert list(rows[sheet_fixes.ROW]) == ["3", "4"]
    assert list(rows["document_id"]) == ["A2", ""]
    assert "not a web link" in rows[sheet_fixes.PROBLEMS].iloc[0]
    assert "ID is empty" in rows[sheet_fixes.PROBLEMS].iloc[1]
    assert list(rows[sheet_fixes.KIND]) == ["Not a web link", "No document ID"]


def test_edits_become_fixes_that_revalidate_clean(report):
    before = sheet_fixes.problem_rows(report)
    after = before.copy()
    after.loc[0, "file_url"] = "https://b.s3.amazonaws.com/2.jpg"
    after.loc[1, "document_id"] = "A3"
    fixes = sheet_fixes.edits_from_editor(before, after)
    assert fixes == {3: {"file_url": "https://b.s3.amazonaws.com/2.jpg"}, 4: {"document_id": "A3"}}
    fixed = sheet_fixes.apply_fixes(report.sheet, fixes)
    assert validate_sheet(fixed).invalid == 0
    assert validate_sheet(report.sheet).invalid == 2  # the original is left untouched


def test_fixed_cells_pair_the_sheets_value_with_the_new_one(report):
    fixes = {
        4: {"document_id": "A3"},  # an empty cell filled
        3: {"file_url": "https://b.s3.amazonaws.com/2.jpg", "document_id": "A2"},  # ID retyped as was
        99: {"file_url": "x"},  # no such row
        2: {"no such column": "x"},
    }
    assert sheet_fixes.fixed_cells(report.sheet, fixes) == (
        CellFix(3, "file_url", "not-a-link", "https://b.s3.amazonaws.com/2.jpg"),
        CellFix(4, "document_id", "", "A3"),  # the sheet holds every cell as text, "" when empty
    )


def test_later_fixes_win_over_earlier_ones():
    merged = sheet_fixes.merge_fixes(
        {3: {"file_url": "a", "document_id": "x"}}, {3: {"file_url": "b"}, 5: {"document_id": "y"}}
    )
    assert merged == {3: {"file_url": "b", "document_id": "x"}, 5: {"document_id": "y"}}


def test_the_template_is_a_valid_sheet():
    assert validate_sheet(read_spreadsheet(sheet_fixes.TEMPLATE_CSV, filename="t.csv")).invalid == 0


@pytest.mark.parametrize(
    "seconds, text",
    [
        (None, "—"),
        (5, "5 s"),
        (89, "89 s"),
        (90, "2 min"),
        (3600, "60 min"),
        (5400, "1 h 30 min"),
        (7200, "2 h"),
        (3 * 86400, "3 days"),
    ],
)
def test_duration(seconds, text):
    assert describe.duration(seconds) == text


@pytest.mark.parametrize(
    "moment",
    [1_700_000_000.0, "2023-11-14T22:13:20+00:00", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)],
)
def test_age_reads_epoch_iso_and_datetimes(moment):
    now = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC) + timedelta(minutes=12)
    assert describe.age(moment, now=now) == "12 min ago"


@pytest.mark.parametrize(
    "text, shown",
    [
        ("**bold**", r"\*\*bold\*\*"),
        ("[x](javascript:alert(1))", r"\[x\](javascript\:alert(1))"),
        (":red[alert] :material/home: :smile:", r"\:red\[alert\] \:material/home: \:smile:"),
        ("<img src=x> &lt;b&gt;", r"\<img src=x\> \&lt;b\&gt;"),
        ("![b](http://host/beacon.png)", "!" r"\[b\](http:" "\u2060" "//host/beacon.png)"),
        ("Www.x.in a@b.in", "Www\u2060.x.in a\u2060@b.in"),
        ("PAN_CARD _x_ $x$ ~~s~~ `c`", r"PAN_CARD \_x\_ \$x\$ \~\~s\~\~ \`c\`"),
        ("# head", r"\# head"),
        ("- item", r"\- item"),
        ("12. item", r"12\. item"),
        ("    code", "code"),
        ("plain words 123: the file is empty (row 2).", "plain words 123: the file is empty (row 2)."),
        ("BATCH-1\x1b]0;owned\x07\u202e\nnext", "BATCH-1 next"),
        (None, ""),
    ],
)
def test_untrusted_text_escapes_markdown_so_values_show_as_typed(text, shown):
    assert untrusted.text(text) == shown


@pytest.mark.parametrize(
    "row, state",
    [
        ({"uncertain_chunks": 1, "extracted": 5}, "Needs a decision"),
        ({"queued": 3}, "Sending"),
        ({"submitted": 3, "extracted": 2}, "Processing"),
        ({"extracted": 8, "failed": 2}, "Complete with failures"),
        ({"extracted": 10}, "Complete"),
        ({"cancelled": 4}, "Cancelled"),
    ],
)
def test_upload_state(row, state):
    assert describe.upload_state(row) == state


def test_a_stalled_upload_reads_stalled_unless_it_needs_a_decision():
    assert describe.upload_state({"submitted": 3}, stalled=True) == "Stalled"
    assert describe.upload_state({"uncertain": 1}, stalled=True) == "Needs a decision"


def test_finished_frame_fills_quiet_minutes_with_zeros_so_a_stall_shows():
    rows = [
        {"bucket": 600, "extracted": 4, "failed": 1},
        {"bucket": 840, "extracted": 2, "failed": 0},
    ]
    frame = charts.finished_frame(rows, since=600, bucket_seconds=60, now=900)
    per_minute = frame.groupby("time")["documents"].sum()
    assert list(per_minute) == [5, 0, 0, 0, 2, 0]
    assert per_minute.index[0] == pd.Timestamp(600, unit="s", tz="UTC")


def test_only_atlas_variables_are_read_from_the_environment():
    environ = {"ATLAS_DB_PATH": "/x.db", "MAX_ROWS": "1", "PATH": "/bin", "atlas_chunk_size": "5"}
    assert atlas_environment(environ) == {"ATLAS_DB_PATH": "/x.db", "atlas_chunk_size": "5"}


@pytest.mark.parametrize(
    "url, shown",
    [
        ("https://api.helloatlas.in", "https://api.helloatlas.in"),
        ("https://user:p4ss@api.example.in:8443/v1?sig=abc", "https://api.example.in:8443/v1"),
        (None, "(not set)"),
    ],
)
def test_safe_url_drops_credentials_and_query(url, shown):
    assert describe.safe_url(url) == shown


def test_download_names_hold_only_safe_characters_of_a_hostile_batch_id():
    from atlas_core.results.downloads import DocumentFilters
    from ui import results_view

    hostile = "B-1 ![b](http://x/y.png)\x1b]0;t\x07/../"
    makers = results_view.download_makers(
        None, {"id": 3}, DocumentFilters(upload_id=3, batch_id=hostile), total=5, review_below=0.8
    )
    names = {name for _, name, _ in makers.values()}
    assert "upload-3-B-1_b_http_x_y.png_0_t-filtered.csv" in names
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", name) for name in names)
