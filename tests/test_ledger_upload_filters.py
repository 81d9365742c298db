"""The uploads list's filters, its submitters and the search for an id's upload, on real SQLite."""

from __future__ import annotations

from scale_support import doc_id, fill_day

from atlas_core.ledger import Ledger, RowRecord, UploadRecord


def test_list_uploads_filters_by_file_submitter_and_time(ledger_location):
    ledger = fill_day(ledger_location, queued_upload=0)
    ids = lambda **f: [u["id"] for u in ledger.list_uploads(**f)[0]]  # noqa: E731
    assert ids() == [4, 3, 2, 1]
    assert ids(file_contains="SOUTH") == [2] and ledger.list_uploads(file_contains="SOUTH")[1] == 1
    assert ids(submitted_by="Asha") == [3, 1]
    created = {u["id"]: u["created_at"] for u in ledger.list_uploads()[0]}
    assert ids(since=created[3]) == [4, 3]
    assert ids(until=created[2]) == [1]
    assert ids(file_contains="nothing like it") == []
    first = ledger.list_uploads(limit=1)[0][0]
    assert first["requests"] == 2  # late-west.csv: 20 rows in requests of 10
    ledger.close()


def test_submitters_and_the_upload_holding_an_id_stay_in_this_atlas(ledger_location):
    ledger = fill_day(ledger_location, queued_upload=0)
    other = Ledger(ledger_location, target="https://api.atlas.example")
    other.record_upload(
        UploadRecord("theirs.csv", "POC_CDL", submitted_by="Zed", columns=("document_id", "file_url")),
        [RowRecord(2, doc_id(2, 5), "https://kyc.example/x.jpg", True)],
        chunk_size=10,
    )
    assert ledger.submitters() == ["Asha", "Meena", "Ravi"]
    assert other.submitters() == ["Zed"]
    assert ledger.uploads_holding(doc_id(2, 5)) == [2]  # not the other Atlas's upload 5
    assert other.uploads_holding(doc_id(2, 5)) == [5]
    batch = ledger.batches_overview(upload_id=1, limit=1)[0][0]["batch_id"]
    assert ledger.uploads_holding(f"  {batch} ") == [1]
    assert ledger.uploads_holding("NO-SUCH-ID") == []
    other.close()
    ledger.close()
