"""validate_sheet: every code on the corpus and on focused rows, totals, valid items and the JSON shape."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from atlas_core.intake import (
    ERROR_CODES,
    WARNING_CODES,
    SheetData,
    ValidRow,
    read_spreadsheet,
    validate_sheet,
)
from atlas_core.intake.rules import warning_summary

CORPUS = Path(__file__).parent / "corpus"
sys.path.insert(0, str(CORPUS))
from make_corpus import CODE_ROWS, CORPUS_NOW, presigned  # noqa: E402

NOW = dt.datetime(2025, 11, 21, 12, 0, 0, tzinfo=dt.UTC)
GOOD_URL = "https://files.example.com/kyc/ok.jpg"


def sheet_of(ids: list[str], urls: list[str], **extra: list[str]) -> SheetData:
    """A SheetData as read_spreadsheet makes it: header on row 1, data from row 2."""
    columns = {"document_id": ids, "file_url": urls, **extra}
    frame = pd.DataFrame({k: pd.array(v, dtype="str") for k, v in columns.items()})
    return SheetData(
        frame=frame, row_numbers=np.arange(2, len(ids) + 2), header_row=1, filename="t.csv",
        sha256="0" * 64, size_bytes=0, file_format="csv",
    )  # fmt: skip


def codes_by_row(report) -> dict[int, list[str]]:
    """Problem codes per spreadsheet row."""
    found: dict[int, list[str]] = {}
    for p in report.problems:
        found.setdefault(p.row, []).append(p.code)
    return found


@pytest.fixture(scope="module")
def corpus_report():
    """The report for codes.csv, one row per problem code, checked at the corpus's fixed time."""
    return validate_sheet(read_spreadsheet(CORPUS / "codes.csv"), now=CORPUS_NOW)


@pytest.mark.parametrize(
    ("index", "case"), list(enumerate(CODE_ROWS)), ids=[c[0] for c in CODE_ROWS]
)
def test_each_corpus_row_raises_exactly_its_code(corpus_report, index, case):
    code, doc_id, url = case
    row = index + 2
    assert codes_by_row(corpus_report).get(row) == [code]
    problem = next(p for p in corpus_report.problems if p.row == row)
    assert problem.value == (url if code.startswith("URL") else doc_id)
    assert problem.column == ("url" if code.startswith("URL") else "reference")
    assert problem.severity == ("error" if code in ERROR_CODES else "warning")
    assert problem.message and problem.message[0].isupper()


def test_corpus_covers_every_code_but_the_ledger_one(corpus_report):
    # URL_PRIVATE_HOST and ROW_REPEATED (issue 12) have their own tests in test_intake_rules.py.
    later = {"ID_IN_LEDGER", "URL_PRIVATE_HOST", "ROW_REPEATED"}
    assert set(corpus_report.codes()) == set(ERROR_CODES + WARNING_CODES) - later


def test_corpus_totals(corpus_report):
    warned = sum(1 for c in CODE_ROWS if c[0] in WARNING_CODES)
    assert corpus_report.rows == len(CODE_ROWS)
    assert corpus_report.valid == warned
    assert corpus_report.invalid == len(CODE_ROWS) - warned
    assert corpus_report.warnings == warned


def test_valid_items_are_the_unblocked_rows_exactly_as_read(corpus_report):
    items = corpus_report.valid_items()
    expected = [(i + 2, c[1], c[2]) for i, c in enumerate(CODE_ROWS) if c[0] in WARNING_CODES]
    assert [(v.row_number, v.document_id, v.file_url) for v in items] == expected
    assert all(isinstance(v, ValidRow) for v in items)


def test_clean_file_has_no_problems():
    ids = ["00123", "A-77", "R/2025/9", "x y"]
    urls = [
        "https://a.example/1.JPG",
        "http://a.example/2.pdf?v=1",
        "https://a.example/doc",
        "https://a.example",
    ]
    report = validate_sheet(sheet_of(ids, urls), now=NOW)
    assert report.problems == []
    assert (report.rows, report.valid, report.invalid, report.warnings) == (4, 4, 0, 0)
    assert [v.document_id for v in report.valid_items()] == ids


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "file:///etc/passwd", "ftp://h/x.jpg", "data:image/png;base64,AA", "mailto:a@b.c",
     "www.example.com/x.jpg", "https://", "http:///x.jpg", "//cdn.example.com/x.jpg", "https//x.example/a.jpg"],
)  # fmt: skip
def test_not_http(url):
    report = validate_sheet(sheet_of(["1"], [url]), now=NOW)
    assert codes_by_row(report) == {2: ["URL_NOT_HTTP"]}


@pytest.mark.parametrize(
    "url", ["HTTP://X.EXAMPLE/A.JPG", "https://user@x.example:8443/a.png", "http://203.0.113.7/a"]
)
def test_http_variants_pass(url):
    assert validate_sheet(sheet_of(["1"], [url]), now=NOW).problems == []


@pytest.mark.parametrize(
    ("url", "code", "words"),
    [
        (" " + GOOD_URL, "URL_HAS_SPACES", "before or after"),
        (GOOD_URL + "\u00a0", "URL_HAS_SPACES", "before or after"),
        ("https://files.example.com/my scan.jpg", "URL_HAS_SPACES", "%20"),
        (GOOD_URL + "\n", "URL_CONTROL_CHARS", "invisible"),
        ("https://files.example.com/\u200bscan.jpg", "URL_CONTROL_CHARS", "invisible"),
        ("https://files.example.com/scan\x00.jpg", "URL_CONTROL_CHARS", "invisible"),
        ("https://files.example.com/scan\x85.jpg", "URL_CONTROL_CHARS", "invisible"),
        ("https://files.example.com/scan\x7f.jpg", "URL_CONTROL_CHARS", "invisible"),
        ("https://files.example.com/café.jpg", None, ""),
    ],
)
def test_spaces_and_control_characters(url, code, words):
    report = validate_sheet(sheet_of(["1"], [url]), now=NOW)
    if code is None:  # non-ASCII letters are fine
        assert report.problems == []
        return
    assert [p.code for p in report.problems] == [code]
    assert words in report.problems[0].message
    assert report.problems[0].value == url  # reported as read, never trimmed


@pytest.mark.parametrize("url", ["", "   ", "\t"])
def test_empty_url_is_missing(url):
    assert codes_by_row(validate_sheet(sheet_of(["1"], [url]), now=NOW)) == {2: ["URL_MISSING"]}


@pytest.mark.parametrize(("length", "flagged"), [(2048, False), (2049, True)])
def test_url_length_limit(length, flagged):
    url = "https://x.example/" + "a" * (length - len("https://x.example/"))
    report = validate_sheet(sheet_of(["1"], [url]), now=NOW)
    assert ("URL_TOO_LONG" in report.codes()) is flagged


def test_url_length_counts_characters_not_bytes():
    url = "https://x.example/" + "अ" * 2000  # 6,000 bytes of UTF-8, 2,018 characters
    assert "URL_TOO_LONG" not in validate_sheet(sheet_of(["1"], [url]), now=NOW).codes()


@pytest.mark.parametrize(("length", "flagged"), [(128, False), (129, True)])
def test_id_length_limit(length, flagged):
    report = validate_sheet(sheet_of(["x" * length], [GOOD_URL]), now=NOW)
    assert ("ID_TOO_LONG" in report.codes()) is flagged


@pytest.mark.parametrize(
    ("doc_id", "codes"),
    [
        ("", ["ID_MISSING"]),
        ("  ", ["ID_MISSING"]),
        ("12 ", ["ID_WHITESPACE"]),
        ("\t12", ["ID_CONTROL_CHARS"]),
        ("1\u200b2", ["ID_CONTROL_CHARS"]),
        ("1.23457E+15", ["ID_NUMBER_MANGLED"]),
        ("1,23457E+15", ["ID_NUMBER_MANGLED"]),
        ("1E+15", ["ID_NUMBER_MANGLED"]),
        ("9.9e-05", ["ID_NUMBER_MANGLED"]),
        ("1234567890123450000", ["ID_NUMBER_MANGLED"]),
        ("12E45", []),
        ("E+15", []),
        ("1234567890123456789", []),
        ("000000000000000001234", []),
        ("0012", []),
        ("AB 12", []),
    ],
)
def test_id_checks(doc_id, codes):
    report = validate_sheet(sheet_of([doc_id], [GOOD_URL]), now=NOW)
    assert [p.code for p in report.problems] == codes


def test_every_duplicate_occurrence_is_reported():
    ids = ["7", "8", "7", " 7", "9"]
    urls = [f"https://x.example/{i}.jpg" for i in range(5)]
    report = validate_sheet(sheet_of(ids, urls), now=NOW)
    dup = [p for p in report.problems if p.code == "ID_DUPLICATE"]
    assert [p.row for p in dup] == [2, 4, 5]
    assert "rows 2, 4, 5" in dup[0].message
    assert [v.document_id for v in report.valid_items()] == ["8", "9"]


def test_same_url_under_two_ids_warns_and_same_id_does_not_double_count():
    ids = ["1", "2", "3", "3"]
    urls = [GOOD_URL, GOOD_URL, "https://x.example/b.jpg", "https://x.example/b.jpg"]
    report = validate_sheet(sheet_of(ids, urls), now=NOW)
    assert codes_by_row(report) == {
        2: ["URL_DUPLICATE"],
        3: ["URL_DUPLICATE"],
        5: ["ROW_REPEATED"],  # the same ID and URL twice: one document, sent once
    }
    assert report.valid == 4 and report.warnings == 3 and report.repeats == 1


@pytest.mark.parametrize(
    ("signed", "expires", "code"),
    [
        ("20251121T110000Z", 3600, "URL_EXPIRED"),  # ends exactly now
        ("20251121T105959Z", 3600, "URL_EXPIRED"),
        ("20251121T110001Z", 3600, "URL_EXPIRING_SOON"),
        ("20251121T120000Z", 3600, "URL_EXPIRING_SOON"),  # exactly one hour left
        ("20251121T120001Z", 3600, None),
        ("20251120T000000Z", 604800, None),
        ("2025112T110000Z", 3600, None),  # malformed date: cannot tell, so no claim
    ],
)
def test_presigned_expiry(signed, expires, code):
    report = validate_sheet(sheet_of(["1"], [presigned("a.jpg", signed, expires)]), now=NOW)
    assert [p.code for p in report.problems] == ([code] if code else [])


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("https://s.example/a.jpg?AWSAccessKeyId=A&Expires=1763726399&Signature=x", "URL_EXPIRED"),
        (
            "https://s.example/a.jpg?AWSAccessKeyId=A&Expires=1763728000&Signature=x",
            "URL_EXPIRING_SOON",
        ),
        (
            "https://g.example/a.jpg?X-Goog-Algorithm=G&X-Goog-Date=20251120T000000Z&X-Goog-Expires=60",
            "URL_EXPIRED",
        ),
        ("https://s.example/a.jpg?x=1&X-Amz-Expires=60&X-Amz-Date=20251120T000000Z", "URL_EXPIRED"),
        ("https://s.example/a.jpg?Expires=1&note=X-Amz-Date", None),
    ],
)
def test_other_signature_styles(url, code):
    report = validate_sheet(sheet_of(["1"], [url]), now=NOW)
    assert [p.code for p in report.problems] == ([code] if code else [])


def test_naive_now_is_taken_as_utc():
    url = presigned("a.jpg", "20251121T110000Z", 3600)
    report = validate_sheet(sheet_of(["1"], [url]), now=NOW.replace(tzinfo=None))
    assert report.codes() == {"URL_EXPIRED": 1}


@pytest.mark.parametrize(
    "ext", ["jpg", "JPEG", "png", "pdf", "tif", "tiff", "webp", "heic", "bmp", "gif"]
)
def test_document_extensions_pass(ext):
    report = validate_sheet(sheet_of(["1"], [f"https://x.example/scan.{ext}?v=2#p"]), now=NOW)
    assert report.problems == []


@pytest.mark.parametrize(
    ("url", "ext"),
    [
        ("https://x.example/a.docx", "docx"),
        ("https://x.example/a.tar.gz", "gz"),
        ("https://x.example/a.HTML?x=1.jpg", "HTML"),
    ],
)
def test_other_extensions_warn(url, ext):
    report = validate_sheet(sheet_of(["1"], [url]), now=NOW)
    assert report.codes() == {"URL_EXTENSION": 1}
    assert f"'.{ext}'" in report.problems[0].message
    assert report.valid == 1


@pytest.mark.parametrize(
    "url", ["https://x.example", "https://x.example.com?a=b.c", "https://x.example/v1.2/scan"]
)
def test_no_extension_no_warning(url):
    assert validate_sheet(sheet_of(["1"], [url]), now=NOW).problems == []


def test_known_ids_hook_marks_ids_in_ledger():
    seen: list[list[str]] = []

    def known_ids(ids: list[str]) -> list[str]:
        seen.append(sorted(ids))
        return ["2", "zzz"]

    report = validate_sheet(
        sheet_of(["1", "2", "2 ", ""], [GOOD_URL + str(i) for i in range(4)]),
        known_ids=known_ids,
        now=NOW,
    )
    assert seen == [["1", "2"]]  # unique, present IDs once each
    assert [p.row for p in report.problems if p.code == "ID_IN_LEDGER"] == [3, 4]
    assert all(p.severity == "warning" for p in report.problems if p.code == "ID_IN_LEDGER")
    assert report.earlier_uploads == ()  # a plain list of IDs says nothing of where they went


def test_a_ledger_lookup_names_the_upload_each_id_went_in():
    report = validate_sheet(
        sheet_of(["1", "2", "3", "4"], [GOOD_URL + str(i) for i in range(4)]),
        known_ids=lambda ids: {"2": 1, "3": 7},
        now=NOW,
    )
    said = {p.value: p.message for p in report.problems if p.code == "ID_IN_LEDGER"}
    assert said == {
        "2": "This document ID was already sent to Atlas in upload 1; sending it again creates a second result.",
        "3": "This document ID was already sent to Atlas in upload 7; sending it again creates a second result.",
    }
    assert report.earlier_uploads == (1, 7)


@pytest.mark.parametrize(
    ("count", "uploads", "said"),
    [
        (4884, (1,), "4,884 IDs were already sent to Atlas in upload 1;"),
        (1, (3,), "1 ID was already sent to Atlas in upload 3;"),
        (5, (1, 3), "5 IDs were already sent to Atlas in uploads 1 and 3;"),
        (9, tuple(range(1, 8)), "9 IDs were already sent to Atlas in uploads 1, 2, 3, 4, 5 and 2 more;"),
        (2, (), "2 IDs were already sent to Atlas in an earlier upload;"),
    ],
)
def test_the_warning_line_names_the_earlier_uploads(count, uploads, said):
    assert warning_summary("ID_IN_LEDGER", count, uploads).startswith(said)


def test_mangled_excel_numbers_are_flagged():
    report = validate_sheet(read_spreadsheet(CORPUS / "numbers_and_sheets.xlsx"), now=NOW)
    assert codes_by_row(report) == {7: ["ID_NUMBER_MANGLED"]}
    assert [v.document_id for v in report.valid_items()] == ["1024", "00077", "4.5", "A-9"]


def test_to_dict_is_the_json_shape(corpus_report):
    shape = json.loads(json.dumps(corpus_report.to_dict()))
    assert list(shape) == [
        "rows",
        "valid",
        "invalid",
        "warnings",
        "url_column",
        "id_column",
        "columns",
        "columns_guessed",
        "issues",
    ]
    assert (shape["url_column"], shape["id_column"]) == ("url", "reference")
    assert len(shape["issues"]) == len(corpus_report.problems)
    assert shape["issues"][0] == corpus_report.problems[0].to_dict()
    assert set(shape["issues"][0]) == {"row", "column", "value", "code", "severity", "message"}
    rows = [i["row"] for i in shape["issues"]]
    assert rows == sorted(rows)


def test_problems_frame_matches_problems(corpus_report):
    table = corpus_report.problems_frame()
    assert list(table.columns) == ["row", "column", "value", "code", "severity", "message"]
    assert table["code"].tolist() == [p.code for p in corpus_report.problems]
    assert corpus_report.valid_frame()["file_url"].tolist() == [
        v.file_url for v in corpus_report.valid_items()
    ]
