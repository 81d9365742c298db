"""Issue 12's gaps in the checks: private hosts, exact repeated rows, a fixed Excel-mangled ID,
"not a url", and the problems file's order."""

from __future__ import annotations

import datetime as dt
import io

import numpy as np
import pandas as pd
import pytest

from atlas_core.intake import SheetData, read_spreadsheet, validate_sheet
from ui import sheet_fixes

NOW = dt.datetime(2025, 11, 21, 12, 0, 0, tzinfo=dt.UTC)


def sheet_of(ids: list[str], urls: list[str]) -> SheetData:
    frame = pd.DataFrame(
        {"document_id": pd.array(ids, dtype="str"), "file_url": pd.array(urls, dtype="str")}
    )
    return SheetData(
        frame=frame, row_numbers=np.arange(2, len(ids) + 2), header_row=1, filename="t.csv",
        sha256="0" * 64, size_bytes=0, file_format="csv",
    )  # fmt: skip


def codes(url: str) -> list[str]:
    return [p.code for p in validate_sheet(sheet_of(["1"], [url]), now=NOW).problems]


@pytest.mark.parametrize(
    "url",
    ["http://localhost/a.jpg", "https://LOCALHOST:8443/a.jpg", "http://api.localhost/a.jpg",
     "http://127.0.0.1/a.jpg", "http://127.8.9.10:8080/a.jpg", "http://10.20.30.40/a.jpg",
     "http://172.16.0.5/a.jpg", "http://172.31.255.254/a.jpg", "http://192.168.1.20/a.jpg",
     "http://169.254.169.254/latest/meta-data", "http://0.0.0.0/a.jpg", "http://[::1]/a.jpg",
     "http://[0:0:0:0:0:0:0:1]:80/a.jpg", "http://[fe80::1ff:fe23:4567:890a]/a.jpg",
     "http://[fd00:ab::7]/a.jpg", "http://scanner.local/a.jpg", "http://NAS.Local./a.jpg",
     "http://user:pw@192.168.0.9/a.jpg", "http://localhost?x=1"],
)  # fmt: skip
def test_links_atlas_can_never_fetch_are_errors(url):
    assert codes(url) == ["URL_PRIVATE_HOST"]


@pytest.mark.parametrize(
    "url",
    ["https://files.example.com/a.jpg", "http://172.32.0.1/a.jpg", "http://172.15.0.1/a.jpg",
     "http://192.169.0.1/a.jpg", "http://11.0.0.1/a.jpg", "http://local.example.com/a.jpg",
     "http://localhost.example.com/a.jpg", "https://cdn.example.com/localhost/a.jpg",
     "http://[2001:db8::1]/a.jpg", "http://10.example.com/a.jpg",
     "https://files.example.com/a.jpg?next=http://127.0.0.1/"],
)  # fmt: skip
def test_public_links_pass(url):
    assert codes(url) == []


def test_private_hosts_among_many_links_and_past_the_host_window():
    """The check looks at each distinct host once; long hosts are judged on the whole link."""
    long_local = "http://" + "scanner-" * 15 + "x.local/a.jpg"
    long_public = "https://" + "cdn-" * 30 + "x.example.com/a.jpg"
    urls = [f"https://bucket.s3.amazonaws.com/{i}.jpg" for i in range(300)]
    urls[17] = "http://10.0.0.7/17.jpg"
    urls[250] = "HTTPS://Printer.LOCAL:8443/250.jpg"
    urls[251], urls[252] = long_local, long_public
    report = validate_sheet(sheet_of([str(i) for i in range(300)], urls), now=NOW)
    private = [p.row - 2 for p in report.problems if p.code == "URL_PRIVATE_HOST"]
    assert private == [17, 250, 251]


def test_an_exact_repeated_row_is_sent_once_and_warned():
    ids = ["A", "B", "A", "A", "C", "C"]
    urls = [f"https://x.example/{i}.jpg" for i in ("a", "b", "a", "a", "c1", "c2")]
    report = validate_sheet(sheet_of(ids, urls), now=NOW)
    found = {(p.row, p.code, p.severity) for p in report.problems}
    assert found == {
        (4, "ROW_REPEATED", "warning"),
        (5, "ROW_REPEATED", "warning"),
        (6, "ID_DUPLICATE", "error"),  # the same ID for two different links: still an error
        (7, "ID_DUPLICATE", "error"),
    }
    assert "repeats row 2" in next(p.message for p in report.problems if p.row == 4)
    assert [v.row_number for v in report.valid_items()] == [2, 3, 4, 5]  # the planner skips 4, 5
    assert report.repeats == 2


def test_not_a_url_is_told_it_is_not_a_link():
    report = validate_sheet(sheet_of(["1"], ["not a url"]), now=NOW)
    assert [p.code for p in report.problems] == ["URL_NOT_HTTP"]
    assert "not a web link" in report.problems[0].message
    assert "%20" not in report.problems[0].message
    # A real link with a space still gets the %20 advice.
    spaced = validate_sheet(sheet_of(["1"], ["https://x.example/my scan.jpg"]), now=NOW)
    assert [p.code for p in spaced.problems] == ["URL_HAS_SPACES"]


def test_a_fixed_mangled_id_is_no_longer_flagged():
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["document_id", "file_url"])
    sheet.append([1234567890123456789, "https://x.example/1.jpg"])
    buffer = io.BytesIO()
    book.save(buffer)
    read = read_spreadsheet(buffer.getvalue(), filename="ids.xlsx")
    assert [p.code for p in validate_sheet(read, now=NOW).problems] == ["ID_NUMBER_MANGLED"]
    fixed = sheet_fixes.apply_fixes(read, {2: {"document_id": "1234567890123456789"}})
    assert validate_sheet(fixed, now=NOW).problems == []
    # Fixing another column of the row leaves the flag where Excel put it.
    other = sheet_fixes.apply_fixes(read, {2: {"file_url": "https://x.example/2.jpg"}})
    assert [p.code for p in validate_sheet(other, now=NOW).problems] == ["ID_NUMBER_MANGLED"]


def test_the_problems_file_puts_problem_rows_first_with_their_row_number():
    ids = ["A1", "A2", "A3", "A4"]
    urls = ["https://x.example/1.jpg", "nope", "https://x.example/3.jpg", ""]
    report = validate_sheet(sheet_of(ids, urls), now=NOW)
    again = pd.read_csv(io.BytesIO(report.problems_file("csv")), encoding="utf-8-sig", dtype=str)
    assert list(again.columns) == ["row", "document_id", "file_url", "problems"]
    assert again["row"].tolist() == ["3", "5", "2", "4"]
    assert again["document_id"].tolist() == ["A2", "A4", "A1", "A3"]
    assert again["problems"].notna().tolist() == [True, True, False, False]
