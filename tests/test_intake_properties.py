"""Property tests: the validator never crashes and never changes a URL or an ID, whatever the cells hold."""

from __future__ import annotations

import csv
import datetime as dt
import io

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas_core.intake import (
    ERROR_CODES,
    WARNING_CODES,
    SheetData,
    read_spreadsheet,
    validate_sheet,
)

NOW = dt.datetime(2025, 11, 21, 12, tzinfo=dt.UTC)
url_like = st.one_of(
    st.text(),
    st.builds(lambda a, b: f"https://{a}/{b}", st.text(min_size=1), st.text()),
    st.builds(
        lambda d, e: f"https://b.s3.example/x.jpg?X-Amz-Date={d}&X-Amz-Expires={e}",
        st.text(alphabet="0123456789TZ", max_size=17),
        st.text(alphabet="0123456789", max_size=12),
    ),
)
rows = st.lists(st.tuples(st.text(max_size=40), url_like), min_size=1, max_size=30)


def as_sheet(pairs: list[tuple[str, str]]) -> SheetData:
    """A SheetData straight from cell values."""
    frame = pd.DataFrame(
        {
            "document_id": pd.array([p[0] for p in pairs], dtype="str"),
            "file_url": pd.array([p[1] for p in pairs], dtype="str"),
        }
    )
    return SheetData(frame, np.arange(2, len(pairs) + 2), 1, "p.csv", "0" * 64, 0, "csv")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows)
def test_validator_never_crashes_and_never_alters_values(pairs):
    report = validate_sheet(as_sheet(pairs), now=NOW)
    assert report.rows == len(pairs) == report.valid + report.invalid
    by_row = dict(enumerate(pairs, start=2))
    for item in report.valid_items():
        assert (item.document_id, item.file_url) == by_row[item.row_number]
    for problem in report.problems:
        doc_id, url = by_row[problem.row]
        assert problem.value == (url if problem.column == "file_url" else doc_id)
        assert problem.code in ERROR_CODES + WARNING_CODES
    blocked = {p.row for p in report.problems if p.severity == "error"}
    assert {i.row_number for i in report.valid_items()} == set(by_row) - blocked
    report.to_dict()
    report.problems_file("csv")


cell = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00;|\t\r"),
    max_size=30,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(cell.filter(lambda s: s.strip()), cell), min_size=1, max_size=20))
def test_csv_cells_come_back_byte_identical(pairs):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["document_id", "file_url"])
    writer.writerows(pairs)
    sheet = read_spreadsheet(out.getvalue().encode("utf-8"), filename="p.csv")
    assert sheet.frame["document_id"].tolist() == [p[0] for p in pairs]
    assert sheet.frame["file_url"].tolist() == [p[1] for p in pairs]
    report = validate_sheet(sheet, now=NOW)
    for item in report.valid_items():
        assert (item.document_id, item.file_url) == pairs[item.row_number - 2]
