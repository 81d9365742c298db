"""The pages' counts and pages of documents, read cheaply, agree with a plain recount of the rows.

The queries take sent documents from the batches' counters (less the superseded ones), use the
indexes of migration m002, and pick a plan by how common a state is; each test compares them with
a direct ``count(*)`` over the documents table on a ledger holding every document state.
"""

from __future__ import annotations

import sqlite3

import pytest
from ledger_support import record_results

from atlas_core.ledger import Interpreted, Ledger, RowRecord, UploadRecord
from atlas_core.ledger import states as S
from atlas_core.ledger.schema import MIGRATION_NAMES


def rows(prefix: str, n: int) -> list[RowRecord]:
    """n valid spreadsheet rows with ids prefix0.. prefix(n-1)."""
    return [RowRecord(i + 2, f"{prefix}{i}", f"https://x.test/{prefix}{i}.jpg", True) for i in range(n)]


def result(doc_id: str, state: str = S.EXTRACTED, doc_type: str = "PAN", confidence: float = 0.9):
    """An extracted (or failed) result for one document."""
    if state == S.FAILED:
        return Interpreted(doc_id, S.FAILED, error="UNRECOGNISED")
    data = {"document_type": doc_type, "name": {"value": "A", "confidence_score": confidence}}
    return Interpreted(doc_id, S.EXTRACTED, doc_type, None, data, confidence)


def send(ledger: Ledger, upload_id: int, batch_id: str, now: float, *, keep: int | None = None):
    """Claim the upload's next chunk and record Atlas's receipts for its first ``keep`` documents."""
    chunk = ledger.claim_chunk("w", upload_id=upload_id, now=now)
    docs = chunk.documents[:keep] if keep is not None else chunk.documents
    ledger.record_sent(chunk.chunk_id, [(batch_id, d, "u") for _, d, _ in docs], now=now)
    return [d for _, d, _ in docs]


@pytest.fixture
def busy(ledger_location) -> tuple[Ledger, int, int]:
    """Two uploads whose documents are in every state, on each engine (see ``fill_busy``)."""
    return fill_busy(Ledger(ledger_location))


@pytest.fixture
def busy_file(tmp_path) -> tuple[Ledger, int, int]:
    """``busy`` in a SQLite file, for what only a file has (its migration record, sqlite_master)."""
    return fill_busy(Ledger(tmp_path / "atlas.db"))


def fill_busy(ledger: Ledger) -> tuple[Ledger, int, int]:
    """Two uploads whose documents are in every state, some superseded (one re-extracted since)."""
    a = ledger.record_upload(UploadRecord("a.csv", "POC_CDL"), rows("a", 30), chunk_size=10,
                             now=900.0).upload_id
    b = ledger.record_upload(UploadRecord("b.csv", "POC_CDL"), rows("b", 20), chunk_size=10,
                             now=900.0).upload_id
    sent = send(ledger, a, "BA1", 1000.0, keep=8)  # 2 documents unconfirmed: uncertain
    record_results(ledger, "BA1", [result(d, S.FAILED) if i < 3 else
                                  result(d, doc_type="AADHAAR" if i % 2 else "PAN", confidence=i / 10)
                                  for i, d in enumerate(sent)], now=1010.0)
    rejected = ledger.claim_chunk("w", upload_id=a, now=1020.0)
    ledger.record_chunk_failure(rejected.chunk_id, S.REJECTED, "Atlas refused the request.")
    ledger.cancel_queued(upload_id=a, now=1030.0)
    ledger.retry_failed(batch_id="BA1", now=1040.0)  # 3 superseded, 3 queued again
    # Atlas's later answer for one superseded document: it is extracted after all.
    record_results(ledger, "BA1", [result(sent[0])], now=1075.0)
    first = send(ledger, b, "BB1", 1000.0)
    record_results(ledger, "BB1", [result(d) for d in first[:4]], now=1100.0)
    second = send(ledger, b, "BB2", 1000.0)
    record_results(ledger, "BB2", [result(d, S.FAILED) if i == 0 else
                                  result(d, doc_type="VOTER_ID", confidence=0.5)
                                  for i, d in enumerate(second)], now=1190.0)
    return ledger, a, b


def recount(ledger: Ledger, sql: str, params: tuple = ()) -> list[tuple]:
    """Rows of a plain query on the ledger, in a read snapshot of its own (either engine)."""
    with ledger.reading() as db:
        return [tuple(r) for r in db.execute(sql, params).fetchall()]


def test_the_busy_ledger_holds_every_state(busy):
    ledger, _, _ = busy
    states = {s for (s,) in recount(ledger, "SELECT DISTINCT state FROM documents")}
    assert states == set(S.DOCUMENT_STATES)
    assert recount(ledger, "SELECT count(*) FROM documents WHERE superseded = 1")[0][0] == 3


def test_upload_counts_match_a_recount(busy):
    ledger, _, _ = busy
    uploads, total = ledger.list_uploads()
    assert total == 2
    for upload in uploads:
        expected = dict.fromkeys(S.DOCUMENT_STATES, 0) | dict(recount(
            ledger, "SELECT state, count(*) FROM documents WHERE upload_id = ? AND superseded = 0"
            " GROUP BY state", (upload["id"],)))
        assert {s: upload[s] for s in S.DOCUMENT_STATES} == expected
        assert upload["documents"] == sum(expected.values())
        assert ledger.upload(upload["id"])["documents"] == upload["documents"]


@pytest.mark.parametrize("filters", [
    {}, {"upload": "a"}, {"upload": "b"}, {"state": S.EXTRACTED}, {"state": S.FAILED},
    {"state": S.UNCERTAIN}, {"state": S.QUEUED}, {"upload": "a", "state": S.CANCELLED},
    {"document_type": "PAN"}, {"needs_review_below": 0.6}, {"upload": "a", "needs_review_below": 0.6},
    {"max_confidence": 0.5}, {"include_superseded": True}, {"upload": "a", "include_superseded": True},
])
@pytest.mark.parametrize("offset", [0, 3])
def test_pages_of_documents_match_a_recount(busy, filters, offset):
    ledger, a, b = busy
    filters = dict(filters)
    upload_id = {"a": a, "b": b, None: None}[filters.pop("upload", None)]
    where, params = ["1"], []
    if not filters.get("include_superseded"):
        where.append("superseded = 0")
    for column in ("state", "document_type"):
        if column in filters:
            where.append(f"{column} = ?")
            params.append(filters[column])
    if upload_id is not None:
        where.append("upload_id = ?")
        params.append(upload_id)
    if "needs_review_below" in filters:
        where.append("state = 'extracted' AND min_confidence < ?")
        params.append(filters["needs_review_below"])
    if "max_confidence" in filters:
        where.append("min_confidence <= ?")
        params.append(filters["max_confidence"])
    expected = [r[0] for r in recount(
        ledger, f"SELECT id FROM documents WHERE {' AND '.join(where)} ORDER BY id DESC", tuple(params))]
    page, total = ledger.documents_page(upload_id=upload_id, limit=4, offset=offset, **filters)
    assert total == len(expected) and total > 0
    assert [r["id"] for r in page] == expected[offset:offset + 4]


@pytest.mark.parametrize("upload", [None, "a", "b"])
def test_counts_by_type_and_state_match_a_recount(busy, upload):
    ledger, a, b = busy
    upload_id = {"a": a, "b": b, None: None}[upload]
    expected = recount(
        ledger, "SELECT document_type, state, count(*) FROM documents WHERE superseded = 0"
        " AND (? IS NULL OR upload_id = ?) GROUP BY document_type, state"
        " ORDER BY document_type, state", (upload_id, upload_id))
    got = [(r["document_type"], r["state"], r["documents"])
           for r in ledger.counts_by_type_and_state(upload_id=upload_id)]
    assert got == expected


@pytest.mark.parametrize("bucket", [60, 90, 3600])
@pytest.mark.parametrize("since", [None, 1050.0])
@pytest.mark.parametrize("upload", [None, "b"])
def test_finished_over_time_matches_a_recount(busy, bucket, since, upload):
    ledger, _, b = busy
    upload_id = b if upload else None
    expected = recount(
        ledger, "SELECT CAST(finished_at / ? AS INTEGER) * ? AS bucket, sum(state = 'extracted'),"
        " sum(state = 'failed') FROM documents WHERE finished_at IS NOT NULL"
        " AND (? IS NULL OR finished_at >= ?) AND (? IS NULL OR upload_id = ?)"
        " GROUP BY bucket ORDER BY bucket", (bucket, bucket, since, since, upload_id, upload_id))
    got = [(r["bucket"], r["extracted"], r["failed"])
           for r in ledger.finished_over_time(bucket_seconds=bucket, since=since, upload_id=upload_id)]
    assert got == expected and got


def test_the_page_indexes_migration_upgrades_an_existing_ledger(busy_file):
    ledger, a, _ = busy_file
    before = ledger.list_uploads()[0], ledger.counts_by_type_and_state()
    ledger.close()
    conn = sqlite3.connect(ledger.path)
    with conn:  # the file as the first version of the schema left it
        conn.execute("DROP INDEX documents_upload_current")
        conn.execute("DROP INDEX documents_state_finished")
        conn.execute("CREATE INDEX documents_state_type ON documents(state, document_type)")
        conn.execute("DELETE FROM _sqlite_migrations WHERE name = 'm002_indexes_for_pages'")
    conn.close()
    reopened = Ledger(ledger.path)
    assert reopened.schema_version == len(MIGRATION_NAMES)
    indexes = {name for (name,) in recount(
        reopened, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'documents'")}
    assert {"documents_upload_current", "documents_state_finished"} <= indexes
    assert "documents_state_type" not in indexes
    assert (reopened.list_uploads()[0], reopened.counts_by_type_and_state()) == before
