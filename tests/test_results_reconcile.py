"""Reconciliation of an upload and the failed-documents file, from hand-built rows and documents."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest

from atlas_core.results.reconciliation import (
    COUNT_NAMES,
    EXCEPTION_KINDS,
    failed_documents_file,
    latest_attempts,
    problems_text,
    reconcile,
)

COLUMNS = ["Customer Ref", "Document Link", "Notes"]


def _row(number, doc_id, *, valid=True, problems=(), disposition=None, notes=""):
    url = f"https://bucket.example/{doc_id}.jpg"
    row = {
        "row_number": number,
        "document_id": doc_id,
        "file_url": url,
        "valid": valid,
        "problems": list(problems),
        "original": {"Customer Ref": doc_id, "Document Link": url, "Notes": notes},
        "columns": COLUMNS,
    }
    if disposition:
        row["disposition"] = disposition
    return row


def _doc(
    row_id, doc_id, state, *, attempt=1, retry_of=None, batch="B1", error=None, row_number=None
):
    return {
        "id": row_id,
        "document_id": doc_id,
        "file_url": f"https://bucket.example/{doc_id}.jpg",
        "state": state,
        "attempt": attempt,
        "retry_of": retry_of,
        "batch_id": batch,
        "error": error,
        "row_number": row_number,
        "upload_id": 1,
        "document_type": None,
        "file_data": None,
    }


@pytest.fixture
def upload_rows():
    """Twelve spreadsheet rows covering every outcome a row can have."""
    return [
        _row(2, "D1"),
        _row(3, "D2", notes='=HYPERLINK("http://evil")'),
        _row(4, "D3"),
        _row(5, "D4"),
        _row(6, "D5"),
        _row(7, "D6"),
        _row(
            8,
            "D7",
            valid=False,
            problems=[{"code": "bad_url", "message": "file_url is not a web address"}],
        ),
        _row(9, "D8"),
        _row(10, "D9", disposition="duplicate"),
        _row(11, "D10", notes="प्रिया"),
        _row(12, "D11"),
        _row(13, "D12"),
    ]


@pytest.fixture
def documents():
    """The ledger's documents for the upload, retries included, plus one no row asked for."""
    return [
        _doc(1, "D1", "extracted"),
        _doc(2, "D2", "failed", error="Atlas could not download the file (INVALID_DOC)."),
        _doc(3, "D3", "submitted"),
        _doc(4, "D4", "uncertain", batch=None),
        _doc(5, "D5", "failed", error="blurry"),
        _doc(6, "D6", "failed", error="blurry"),
        _doc(7, "D10", "rejected", batch=None, error="Atlas answered 400: bad file_url"),
        _doc(8, "D11", "cancelled", batch=None),
        _doc(9, "D12", "failed", error="blurry"),
        _doc(10, "X99", "extracted"),
        # retries: D5 worked the second time, D6 waits to be sent, D12's retry got a new id
        _doc(11, "D5", "extracted", attempt=2, retry_of=5, batch="B2"),
        _doc(12, "D6", "queued", attempt=2, retry_of=6, batch=None),
        _doc(13, "D12-retry", "extracted", attempt=2, retry_of=9, batch="B3"),
    ]


def test_counts(upload_rows, documents):
    report = reconcile(upload_rows, documents)
    assert list(report.counts) == list(COUNT_NAMES)
    assert report.counts == {
        "rows": 12, "valid": 11, "invalid": 1, "skipped": 1, "missing": 1, "in_ledger": 9,
        "sent_to_atlas": 6, "extracted": 3, "failed": 1, "pending": 1, "queued": 1, "uncertain": 1,
        "rejected": 1, "cancelled": 1, "other_state": 0, "retried": 3, "unexpected": 1,
    }  # fmt: skip


def test_exceptions_list_every_row_not_extracted_once_and_unexpected_documents(
    upload_rows, documents
):
    report = reconcile(upload_rows, documents)
    got = [(issue.kind, issue.row_number, issue.document_id) for issue in report.exceptions]
    assert got == [
        ("failed", 3, "D2"),
        ("pending", 4, "D3"),
        ("uncertain", 5, "D4"),
        ("queued", 7, "D6"),
        ("invalid", 8, "D7"),
        ("missing", 9, "D8"),
        ("skipped", 10, "D9"),
        ("rejected", 11, "D10"),
        ("cancelled", 12, "D11"),
        ("unexpected", None, "X99"),
    ]
    assert {issue.kind for issue in report.exceptions} <= set(EXCEPTION_KINDS)


def test_every_row_is_extracted_or_an_exception(upload_rows, documents):
    report = reconcile(upload_rows, documents)
    about_rows = [issue for issue in report.exceptions if issue.kind != "unexpected"]
    assert report.counts["rows"] == report.counts["extracted"] + len(about_rows)
    assert len({issue.row_number for issue in about_rows}) == len(about_rows)


def test_exception_details_carry_the_reason(upload_rows, documents):
    issues = {issue.document_id: issue for issue in reconcile(upload_rows, documents).exceptions}
    assert "INVALID_DOC" in issues["D2"].detail
    assert issues["D2"].state == "failed" and issues["D2"].batch_id == "B1"
    assert issues["D7"].detail == "file_url is not a web address"
    assert "already been submitted" in issues["D9"].detail
    assert "bad file_url" in issues["D10"].detail
    assert (issues["D6"].attempt, issues["D6"].state) == (2, "queued")


def test_a_retry_counts_by_its_latest_attempt(documents):
    latest = {doc["document_id"]: doc for doc in latest_attempts(documents)}
    assert (latest["D5"]["state"], latest["D5"]["attempt"], latest["D5"]["batch_id"]) == (
        "extracted",
        2,
        "B2",
    )
    assert latest["D6"]["_submitted"] is True  # its first attempt reached Atlas
    assert "D12" not in latest and latest["D12-retry"]["_document_ids"] == ("D12", "D12-retry")
    assert len(latest) == 10


def test_attempt_order_does_not_depend_on_input_order(upload_rows, documents):
    assert reconcile(upload_rows, documents) == reconcile(
        list(reversed(upload_rows)), list(reversed(documents))
    )


def test_documents_without_ledger_ids_group_by_document_id():
    docs = [
        {"document_id": "A", "state": "failed", "attempt": 1, "batch_id": "B1"},
        {"document_id": "A", "state": "extracted", "attempt": 2, "batch_id": "B2"},
    ]
    report = reconcile([_row(2, "A")], docs)
    assert (
        report.counts["extracted"] == 1
        and report.counts["retried"] == 1
        and report.exceptions == ()
    )


def test_an_unknown_state_is_reported_not_hidden():
    report = reconcile([_row(2, "A")], [_doc(1, "A", "teleported")])
    assert report.counts["other_state"] == 1
    assert report.exceptions[0].kind == "unknown" and "teleported" in report.exceptions[0].detail


def test_exceptions_csv_is_neutralised_with_a_bom(upload_rows, documents):
    upload_rows[0]["document_id"] = "=cmd|' /C calc'!A0"
    data = reconcile(upload_rows, documents).exceptions_csv()
    assert data.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str)
    assert list(frame.columns) == [
        "kind",
        "row_number",
        "document_id",
        "file_url",
        "state",
        "attempt",
        "batch_id",
        "detail",
    ]
    assert "'=cmd|' /C calc'!A0" in set(frame["document_id"])
    assert len(frame) == len(reconcile(upload_rows, documents).exceptions)


def test_counts_as_a_dict(upload_rows, documents):
    report = reconcile(upload_rows, documents)
    as_dict = json.loads(json.dumps(report.to_dict()))
    assert as_dict["counts"] == report.counts
    assert [e["kind"] for e in as_dict["exceptions"]] == [i.kind for i in report.exceptions]


def test_failed_documents_file_uses_the_original_columns(upload_rows, documents):
    data = failed_documents_file(upload_rows, documents)
    records = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert records[0] == [*COLUMNS, "atlas_error"]
    # D2 failed and D10 was rejected; D5 failed once but its retry was extracted, D6 is queued again
    assert [r[0] for r in records[1:]] == ["D2", "D10"]
    assert records[1][2] == '\'=HYPERLINK("http://evil")'
    assert records[1][3] == "Atlas could not download the file (INVALID_DOC)."
    assert records[2][2] == "प्रिया"


def test_failed_documents_file_round_trips_through_pandas(upload_rows, documents):
    frame = pd.read_csv(
        io.BytesIO(failed_documents_file(upload_rows, documents, states=("failed",))),
        encoding="utf-8-sig",
    )
    assert list(frame["Customer Ref"]) == ["D2"]
    assert list(frame["Document Link"]) == ["https://bucket.example/D2.jpg"]


def test_failed_documents_file_keeps_an_existing_atlas_error_column():
    row = _row(2, "A")
    row["original"]["atlas_error"] = "old"
    data = failed_documents_file(
        [row], [_doc(1, "A", "failed", error="new")], columns=[*COLUMNS, "atlas_error"]
    )
    records = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert records == [
        [*COLUMNS, "atlas_error", "_atlas_error"],
        ["A", "https://bucket.example/A.jpg", "", "old", "new"],
    ]


def test_failed_documents_file_reads_originals_stored_as_json_text():
    row = _row(2, "A")
    row["original"] = json.dumps({"Ref": "A", "Link": "L", "Amount": 12.5})
    del row["columns"]
    data = failed_documents_file([row], [_doc(1, "A", "failed", error="e")])
    assert data.decode("utf-8-sig").splitlines() == [
        '"Ref","Link","Amount","atlas_error"',
        '"A","L",12.5,"e"',
    ]


@pytest.mark.parametrize(
    ("problems", "text"),
    [
        ([{"message": "a"}, {"code": "b"}], "a; b"),
        ('[{"message": "from json"}]', "from json"),
        ("plain words", "plain words"),
        (None, ""),
        ({"message": "one"}, "one"),
    ],
)
def test_problems_text(problems, text):
    assert problems_text(problems) == text


def test_failed_documents_file_falls_back_to_id_and_url_without_original_cells():
    row = _row(2, "A")
    row["original"] = {}
    del row["columns"]
    data = failed_documents_file([row], [_doc(1, "A", "failed", error="e")])
    assert data.decode("utf-8-sig").splitlines() == [
        '"document_id","file_url","atlas_error"',
        '"A","https://bucket.example/A.jpg","e"',
    ]


def test_a_row_left_out_on_purpose_is_skipped_whatever_the_ledger_holds():
    # Row 3 repeats row 2's id (a duplicate): row 2's document is not row 3's. Row 4 was held by a
    # pilot, then cancelled: never sent, so left out, not missing.
    rows = [_row(2, "A"), _row(3, "A", disposition="duplicate"), _row(4, "B", disposition="cancelled")]
    report = reconcile(rows, [_doc(1, "A", "extracted", row_number=2)])
    assert [(i.kind, i.row_number) for i in report.exceptions] == [("skipped", 3), ("skipped", 4)]
    assert (report.counts["extracted"], report.counts["missing"], report.counts["skipped"]) == (1, 0, 2)
    assert "then cancelled" in report.exceptions[1].detail


def test_rows_of_a_forced_upload_with_one_id_twice_keep_their_own_documents():
    rows = [_row(2, "A"), _row(3, "A")]  # --force: both rows were sent
    docs = [_doc(1, "A", "extracted", row_number=2), _doc(2, "A", "failed", row_number=3)]
    report = reconcile(rows, docs)
    assert (report.counts["extracted"], report.counts["failed"], report.counts["unexpected"]) == (1, 1, 0)
    assert [(i.kind, i.row_number) for i in report.exceptions] == [("failed", 3)]
