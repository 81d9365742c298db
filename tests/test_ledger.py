"""The ledger on real SQLite files: schema, uploads, chunks, duplicates, pilot, retries, cancel."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from ledger_support import chunks_of_upload, record_results

from atlas_core.errors import LedgerError
from atlas_core.ledger import Interpreted, Ledger, RowRecord, UploadRecord
from atlas_core.ledger import states as S
from atlas_core.ledger.schema import MIGRATION_NAMES


@pytest.fixture
def ledger(ledger_location) -> Ledger:
    """A fresh ledger: a file under tmp_path, or a fresh PostgreSQL database (both engines run)."""
    return Ledger(ledger_location)


def rows(n: int, *, start: int = 0, prefix: str = "D", invalid: tuple[int, ...] = ()) -> list[RowRecord]:
    """n spreadsheet rows (row numbers from 2), some of them invalid."""
    out = []
    for i in range(start, start + n):
        bad = i in invalid
        out.append(RowRecord(
            row_number=i + 2, document_id=f"{prefix}{i}", file_url=None if bad else f"https://x.test/{i}.jpg",
            valid=not bad, problems=({"code": "missing_url"},) if bad else (),
            original={"id": f"{prefix}{i}", "url": None if bad else f"https://x.test/{i}.jpg"},
        ))
    return out


def upload(ledger: Ledger, n: int, **kwargs):
    """Record an upload of n rows with chunks of 10 unless told otherwise."""
    record = UploadRecord(kwargs.pop("file_name", "a.csv"), "POC_CDL", kwargs.pop("content_hash", None),
                          columns=("id", "url"))
    return ledger.record_upload(record, kwargs.pop("rows", None) or rows(n), chunk_size=kwargs.pop("chunk_size", 10),
                                **kwargs)


def send(ledger: Ledger, chunk, batch_id: str) -> list[str]:
    """Record a chunk as accepted by Atlas in one batch."""
    return ledger.record_sent(chunk.chunk_id, [(batch_id, d, f"uuid-{d}") for _, d, _ in chunk.documents])


def test_opening_creates_the_schema_in_wal_mode(tmp_path):
    path = tmp_path / "deep" / "atlas.db"
    Ledger(path)
    conn = sqlite3.connect(path)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables >= {"uploads", "upload_rows", "chunks", "batches", "documents", "workers"}
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    applied = [row[0] for row in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY id")]
    assert applied == MIGRATION_NAMES
    conn.close()
    assert Ledger(path).schema_version == len(MIGRATION_NAMES)  # reopening migrates nothing twice
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM _sqlite_migrations").fetchone()[0] == len(MIGRATION_NAMES)
    conn.close()


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "atlas.db"
    Ledger(path)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at)"
                     " VALUES ('atlas-bulk-ops-ledger', 'm999_from_the_future', '2030-01-01')")
    conn.close()
    with pytest.raises(LedgerError, match="newer version"):
        Ledger(path)


def test_foreign_keys_are_enforced(ledger):
    with pytest.raises(LedgerError, match="(?i)FOREIGN KEY"), ledger.transaction() as db:
        db.execute("INSERT INTO chunks (upload_id, sequence, state, created_at, updated_at)"
                   " VALUES (999, 1, 'queued', 0, 0)")


@pytest.mark.parametrize(("n", "chunk_size", "sizes"), [(25, 10, [10, 10, 5]), (10, 10, [10]), (3, 100, [3])])
def test_recording_an_upload_queues_valid_rows_in_chunks(ledger, n, chunk_size, sizes):
    queued = upload(ledger, n, chunk_size=chunk_size)
    chunks = chunks_of_upload(ledger, queued.upload_id)
    assert [c["documents"] for c in chunks] == sizes
    assert {c["state"] for c in chunks} == {S.QUEUED}
    docs, total = ledger.documents_page(upload_id=queued.upload_id, limit=1000)
    assert total == n and {d["state"] for d in docs} == {S.QUEUED}


def test_invalid_rows_are_kept_with_their_problems_but_not_queued(ledger):
    queued = upload(ledger, 0, rows=rows(5, invalid=(1, 3)))
    assert (queued.queued, queued.invalid) == (3, 2)
    kept = list(ledger.iter_upload_rows(queued.upload_id))
    assert [r["row_number"] for r in kept] == [2, 3, 4, 5, 6]
    assert [r["disposition"] for r in kept] == ["queued", "invalid", "queued", "invalid", "queued"]
    assert kept[1]["problems"] == [{"code": "missing_url"}] and kept[1]["original"]["id"] == "D1"


def test_ids_already_submitted_are_skipped_unless_forced(ledger):
    upload(ledger, 5)
    again = upload(ledger, 0, rows=rows(3, start=3))  # D3, D4 known; D5 new
    assert again.skipped_ids == ("D3", "D4") and again.queued == 1
    forced = upload(ledger, 0, rows=rows(3, start=3), force=True)
    assert forced.skipped == 0 and forced.queued == 3
    assert ledger.known_ids(["D0", "D5", "nope"]) == {"D0": 1, "D5": 2}  # each with its first upload


def test_a_repeated_id_within_one_sheet_is_skipped(ledger):
    repeated = rows(3) + [RowRecord(9, "D1", "https://x.test/again.jpg", True)]
    queued = upload(ledger, 0, rows=repeated)
    assert queued.skipped_ids == ("D1",) and queued.queued == 3


def test_failed_documents_are_not_duplicates(ledger):
    first = upload(ledger, 2)
    chunk = ledger.claim_chunk("w1")
    batch = send(ledger, chunk, "B1")[0]
    record_results(ledger, batch, [Interpreted("D0", S.FAILED, error="bad"), Interpreted("D1", S.EXTRACTED)])
    assert list(ledger.known_ids(["D0", "D1"])) == ["D1"]
    assert upload(ledger, 2).skipped_ids == ("D1",)
    assert first.upload_id == 1


def test_the_same_file_is_recognised_by_its_hash(ledger):
    first = upload(ledger, 2, content_hash="abc")
    second = upload(ledger, 0, rows=rows(2, prefix="E"), content_hash="abc")
    assert second.same_file_uploads == (first.upload_id,)
    assert [u["id"] for u in ledger.uploads_with_hash("abc")] == [first.upload_id, second.upload_id]
    assert upload(ledger, 0, rows=rows(1, prefix="F"), content_hash="other").same_file_uploads == ()


def test_a_pilot_queues_the_first_rows_and_holds_the_rest(ledger):
    pilot = upload(ledger, 12, pilot=5)
    assert (pilot.queued, pilot.held) == (5, 7)
    queued = [c["documents"] for c in chunks_of_upload(ledger, pilot.upload_id)]
    assert queued == [5]
    rest = ledger.queue_held(pilot.upload_id)
    assert rest.queued == 7 and len(rest.chunk_ids) == 1
    assert ledger.queue_held(pilot.upload_id).queued == 0  # nothing held any more
    _, total = ledger.documents_page(upload_id=pilot.upload_id)
    assert total == 12


def test_each_chunk_is_claimed_once_by_many_threads(ledger):
    upload(ledger, 200, chunk_size=5)
    claimed: list[int] = []
    lock = threading.Lock()

    def claim(worker: str) -> None:
        while (chunk := ledger.claim_chunk(worker)) is not None:
            with lock:
                claimed.append(chunk.chunk_id)

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == list(range(1, 41))


def test_a_sent_chunk_records_its_batch_and_documents(ledger):
    queued = upload(ledger, 3)
    chunk = ledger.claim_chunk("w1", upload_id=queued.upload_id)
    assert chunk.product_type == "POC_CDL" and [d[1] for d in chunk.documents] == ["D0", "D1", "D2"]
    assert ledger.claim_chunk("w2") is None
    assert send(ledger, chunk, "B1") == ["B1"]
    (sent,) = chunks_of_upload(ledger, queued.upload_id)
    assert (sent["state"], sent["batch_id"], sent["claimed_by"]) == (S.SENT, "B1", "w1")
    batch = ledger.batch("B1")
    assert (batch["documents"], batch["state"]) == (3, S.PROCESSING)
    docs, _ = ledger.documents_page(batch_id="B1")
    assert {d["state"] for d in docs} == {S.SUBMITTED} and {d["file_uuid"] for d in docs} == {
        "uuid-D0", "uuid-D1", "uuid-D2"}


def test_documents_missing_from_the_receipts_become_uncertain(ledger):
    upload(ledger, 3)
    chunk = ledger.claim_chunk("w1")
    ledger.record_sent(chunk.chunk_id, [("B1", "D0", "u0"), ("B1", "D2", "u2")])
    docs = {d["document_id"]: d["state"] for d in ledger.documents_page()[0]}
    assert docs == {"D0": S.SUBMITTED, "D1": S.UNCERTAIN, "D2": S.SUBMITTED}


@pytest.mark.parametrize("state", [S.UNCERTAIN, S.REJECTED])
def test_a_failed_send_marks_the_chunk_and_its_documents(ledger, state):
    upload(ledger, 2)
    chunk = ledger.claim_chunk("w1")
    ledger.record_chunk_failure(chunk.chunk_id, state, "Atlas answered 400: bad url")
    assert ledger.chunks_in_state(state)[0]["error"] == "Atlas answered 400: bad url"
    docs, _ = ledger.documents_page()
    assert {(d["state"], d["error"]) for d in docs} == {(state, "Atlas answered 400: bad url")}


def test_a_requeued_chunk_waits_until_it_is_due(ledger):
    upload(ledger, 2)
    chunk = ledger.claim_chunk("w1", now=100.0)
    ledger.requeue_chunk(chunk.chunk_id, "503", retry_at=160.0, now=100.0)
    assert ledger.claim_chunk("w1", now=159.0) is None
    again = ledger.claim_chunk("w1", now=160.0)
    assert again.chunk_id == chunk.chunk_id and again.attempts == 2
    assert ledger.queued_work()["sending"] == 1


@pytest.mark.parametrize(("action", "doc_state", "attempt"), [("resend", S.QUEUED, 2), ("drop", S.CANCELLED, 1)])
def test_resolving_an_uncertain_chunk(ledger, action, doc_state, attempt):
    upload(ledger, 2)
    chunk = ledger.claim_chunk("w1")
    ledger.record_chunk_failure(chunk.chunk_id, S.UNCERTAIN, "timed out")
    new_chunk = ledger.resolve_uncertain(chunk.chunk_id, action, resolved_by="asha")
    old = next(c for c in chunks_of_upload(ledger, 1) if c["id"] == chunk.chunk_id)
    assert (old["state"], old["resolution"], old["resolved_by"]) == (
        S.CANCELLED, "resent" if action == "resend" else "dropped", "asha")
    docs, _ = ledger.documents_page()
    assert {(d["state"], d["attempt"]) for d in docs} == {(doc_state, attempt)}
    if action == "resend":
        assert {d["chunk_id"] for d in docs} == {new_chunk}
        assert ledger.claim_chunk("w2").chunk_id == new_chunk
    else:
        assert new_chunk is None and ledger.claim_chunk("w2") is None
    with pytest.raises(LedgerError, match="not waiting for a decision"):
        ledger.resolve_uncertain(chunk.chunk_id, action)


def test_retrying_failed_documents_links_attempt_two_to_the_original(ledger):
    upload(ledger, 3)
    chunk = ledger.claim_chunk("w1")
    send(ledger, chunk, "B1")
    record_results(ledger, "B1", [Interpreted("D0", S.FAILED, error="x"), Interpreted("D1", S.EXTRACTED),
                                 Interpreted("D2", S.FAILED, error="y")])
    count, chunk_ids = ledger.retry_failed(batch_id="B1")
    assert count == 2 and len(chunk_ids) == 1
    retried, total = ledger.documents_page(state=S.QUEUED)
    originals = {d["document_id"]: d["id"] for d in ledger.documents_page(state=S.FAILED,
                                                                            include_superseded=True)[0]}
    assert total == 2
    assert {(d["document_id"], d["attempt"], d["retry_of"]) for d in retried} == {
        ("D0", 2, originals["D0"]), ("D2", 2, originals["D2"])}
    # The originals stay as history but no longer count, and are not retried twice.
    assert ledger.documents_page(state=S.FAILED)[1] == 0
    assert ledger.retry_failed(batch_id="B1") == (0, [])
    with pytest.raises(ValueError):
        ledger.retry_failed()


def test_cancelling_an_upload_touches_only_queued_work(ledger):
    queued = upload(ledger, 25)
    chunk = ledger.claim_chunk("w1")
    assert ledger.cancel_queued(upload_id=queued.upload_id) == 15
    states = {c["id"]: c["state"] for c in chunks_of_upload(ledger, queued.upload_id)}
    assert states == {chunk.chunk_id: S.SENDING, 2: S.CANCELLED, 3: S.CANCELLED}
    counts = {(r["state"]): r["documents"] for r in ledger.counts_by_type_and_state()}
    assert counts == {S.QUEUED: 10, S.CANCELLED: 15}


def test_orphaned_chunks_are_marked_uncertain_only_if_still_theirs(ledger):
    upload(ledger, 20)
    first = ledger.claim_chunk("w1")
    second = ledger.claim_chunk("w2")
    assert ledger.mark_orphans_uncertain([(first.chunk_id, "w1"), (second.chunk_id, "someone-else")]) == 1
    states = {c["id"]: c["state"] for c in chunks_of_upload(ledger, 1)}
    assert states == {first.chunk_id: S.UNCERTAIN, second.chunk_id: S.SENDING}


def test_workers_heartbeat_and_stop(ledger):
    ledger.register_worker("w1", host="h", pid=1, now=10.0)
    ledger.heartbeat("w1", error="Atlas is down", now=20.0)
    (worker,) = ledger.workers()
    assert (worker["heartbeat_at"], worker["last_error"]) == (20.0, "Atlas is down")
    ledger.stop_worker("w1")
    assert ledger.workers() == [] and len(ledger.workers(include_stopped=True)) == 1


def test_receipts_arriving_after_a_chunk_was_thought_orphaned_still_count(ledger):
    upload(ledger, 2)
    chunk = ledger.claim_chunk("slow")
    ledger.mark_orphans_uncertain([(chunk.chunk_id, "slow")])
    send(ledger, chunk, "B1")
    assert {d["state"] for d in ledger.documents_page()[0]} == {S.SUBMITTED}
    assert chunks_of_upload(ledger, 1)[0]["state"] == S.SENT and ledger.batch("B1")["documents"] == 2


def test_receipts_matched_to_the_claimed_documents_are_recorded_as_without_them(ledger):
    upload(ledger, 6, chunk_size=3)
    given, read = ledger.claim_chunk("w1"), ledger.claim_chunk("w1")
    # The engine hands the claim's rows over; a tool gives the receipts alone.
    for chunk, documents in ((given, given.documents), (read, None)):
        first, _, last = (d for _, d, _ in chunk.documents)
        receipts = [(f"B{chunk.chunk_id}", first, "u0"), (f"B{chunk.chunk_id}", last, "u2")]
        assert ledger.record_sent(chunk.chunk_id, receipts, documents=documents) == [f"B{chunk.chunk_id}"]
        assert ledger.batch(f"B{chunk.chunk_id}")["documents"] == 2
    docs = {d["document_id"]: (d["state"], d["file_uuid"]) for d in ledger.documents_page()[0]}
    assert docs == {"D0": (S.SUBMITTED, "u0"), "D1": (S.UNCERTAIN, None), "D2": (S.SUBMITTED, "u2"),
                    "D3": (S.SUBMITTED, "u0"), "D4": (S.UNCERTAIN, None), "D5": (S.SUBMITTED, "u2")}


def test_late_receipts_leave_documents_already_resent_in_another_chunk_alone(ledger):
    upload(ledger, 2)
    chunk = ledger.claim_chunk("w1")
    ledger.mark_orphans_uncertain([(chunk.chunk_id, "w1")])  # its sender looked gone
    resent = ledger.resolve_uncertain(chunk.chunk_id, "resend")  # the rows move to a new chunk
    # The first sender's answer arrives after all, with the rows as it claimed them.
    receipts = [("B1", d, f"uuid-{d}") for _, d, _ in chunk.documents]
    assert ledger.record_sent(chunk.chunk_id, receipts, documents=chunk.documents) == []
    docs = ledger.documents_page()[0]
    assert {(d["state"], d["chunk_id"], d["batch_id"]) for d in docs} == {(S.QUEUED, resent, None)}
    assert ledger.batch("B1") is None


class UnreadableLedger(Ledger):
    """A real ledger whose read snapshots fail while ``broken`` is set (a disk error, say)."""

    broken = False

    def reading(self):
        if self.broken:
            raise LedgerError("The ledger could not be read: disk I/O error.")
        return super().reading()


def test_a_claimed_chunk_whose_documents_cannot_be_read_goes_back_to_the_queue(tmp_path):
    ledger = UnreadableLedger(tmp_path / "atlas.db")
    upload(ledger, 20)
    first = ledger.claim_chunk("w1")
    ledger.broken = True
    with pytest.raises(LedgerError):
        ledger.claim_chunk("w1")
    # The receipts are recorded even when the next chunk's rows cannot be read.
    receipts = [("B1", d, f"uuid-{d}") for _, d, _ in first.documents]
    assert ledger.record_sent_and_claim(first.chunk_id, receipts, "w1", documents=first.documents) == (["B1"], None)
    ledger.broken = False
    # Claimed twice, sent never: queued again, not left 'sending' for a recovery to call uncertain.
    assert ledger.chunks_in_state(S.SENDING) == []
    assert [c["state"] for c in chunks_of_upload(ledger, 1)] == [S.SENT, S.QUEUED]
    assert ledger.claim_chunk("w1").documents[0][1] == "D10"


def test_recording_receipts_and_claiming_the_next_chunk_is_one_step(ledger):
    queued = upload(ledger, 20)
    first = ledger.claim_chunk("w1", upload_id=queued.upload_id)
    receipts = [("B1", doc_id, f"uuid-{doc_id}") for _, doc_id, _ in first.documents]
    batches, second = ledger.record_sent_and_claim(first.chunk_id, receipts, "w1")
    assert batches == ["B1"] and second is not None and second.chunk_id != first.chunk_id
    states = {c["id"]: (c["state"], c["claimed_by"]) for c in chunks_of_upload(ledger, queued.upload_id)}
    assert states == {first.chunk_id: (S.SENT, "w1"), second.chunk_id: (S.SENDING, "w1")}

