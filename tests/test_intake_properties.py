"""Property tests: the validator never crashes and never changes a URL or an ID, whatever the cells hold."""

from __future__ import annotations

import csv
import datetime as dt
import io

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from atlas_core.intake import (
    ERROR_CODES,
    WARNING_CODES,
    SheetData,
    read_spreadsheet,
    validate_sheet,
)
from atlas_core.intake.presigned import expiry_times

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


STAMPS = st.sampled_from(
    ["20251121T110000Z", "20251121T105959Z", "20250231T235960Z", "2025112T110000Z", "20251321T000000Z"]
)
SIGNED = st.builds(
    lambda vendor, sep, stamp, expires, tail, cut: (
        f"https://b.example/k.jpg{sep}X-{vendor}-Date={stamp}&X-{vendor}-Expires={expires}{tail}"
    )[:cut],
    st.sampled_from(["Amz", "Goog"]),
    st.sampled_from(["?", "&", "?a=1&", "#"]),
    STAMPS,
    st.sampled_from(["60", "3600", "86400", "", "x", "12345678901"]),
    st.sampled_from(["", "&X-Amz-Signature=ab", "#frag"]),
    st.just(1000) | st.integers(10, 120),  # whole, or cut short anywhere
)
SHARED = "https://b.example/k.jpg?X-Amz-Date=20251121T110000Z&X-Amz-Expires={}"
SIGNED_URLS = st.lists(SIGNED | SIGNED | url_like, min_size=1, max_size=40)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(urls=SIGNED_URLS, chunk=st.integers(1, 40))
@example(urls=[SHARED.format(60), SHARED.format(3600), SHARED.format(60)], chunk=40)
# A link's window never takes bytes from the links beside it:
@example(urls=[SHARED.format(60), "5", "z" * 80], chunk=40)
@example(urls=["z" * 80 + "?", "X-Goog-Date=20251121T110000Z&X-Goog-Expires=60", "z" * 80], chunk=40)
def test_expiry_of_a_batch_is_the_expiry_of_each_link_on_its_own(urls, chunk):
    # Links signed together share their parsed window; sharing must never mix two links up.


    def strings(values):
        parts = [values[i : i + chunk] for i in range(0, len(values), chunk)]
        return pa.chunked_array([pa.array(p, type=pa.large_string()) for p in parts])

    every = np.ones(len(urls), dtype=bool)
    batch = expiry_times(strings(urls), every)
    alone = np.array([expiry_times(strings([u]), every[:1])[0] for u in urls])
    assert np.array_equal(batch, alone, equal_nan=True)


@given(values=st.lists(st.sampled_from(["a", "b", "", "ä", "a "]) | st.text(max_size=3), max_size=60),
       chunk=st.integers(1, 20))  # fmt: skip
def test_duplicated_rows_marks_every_occurrence_of_a_repeated_value(values, chunk):
    from atlas_core.intake.textops import duplicated_rows

    parts = [values[i : i + chunk] for i in range(0, len(values), chunk)]
    strings = pa.chunked_array([pa.array(p, type=pa.large_string()) for p in parts], pa.large_string())
    expected = pd.Series(values, dtype=object).duplicated(keep=False).to_numpy(dtype=bool)
    assert duplicated_rows(strings).tolist() == expected.tolist()
