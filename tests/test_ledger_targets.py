"""Migration m003 (each upload, chunk and batch records its target) on a ledger of the previous schema.

The old ledger is built by this version's own migrations stopped before m003, then filled from
a SQL fixture shaped like what the previous version wrote: a sandbox trial (batch BATCH-SBX), a
real run (BATCH-REAL) and an upload whose only chunk is still queued.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils
from ledger_support import chunks_of_upload, record_results
from pg_support import another_location

from atlas_core.ledger import Ledger
from atlas_core.ledger import states as S
from atlas_core.ledger.schema import MIGRATION_NAMES, MIGRATIONS
from atlas_core.ledger.targets import SANDBOX_TARGET, UNKNOWN_TARGET

PREVIOUS_SCHEMA_ROWS = """
INSERT INTO uploads (id, file_name, product_type, created_at, rows_total, rows_valid, chunk_size)
VALUES (1, 'trial.csv', 'POC_CDL', 1.0, 1, 1, 100), (2, 'real.csv', 'POC_CDL', 2.0, 1, 1, 100),
       (3, 'queued.csv', 'POC_CDL', 3.0, 1, 1, 100);
INSERT INTO chunks (id, upload_id, sequence, state, documents, batch_id, created_at, updated_at)
VALUES (1, 1, 1, 'sent', 1, 'BATCH-SBX', 1.0, 1.0), (2, 2, 1, 'sent', 1, 'BATCH-REAL', 2.0, 2.0),
       (3, 3, 1, 'queued', 1, NULL, 3.0, 3.0);
INSERT INTO batches (batch_id, upload_id, chunk_id, product_type, documents, state, created_at,
                     next_poll_at)
VALUES ('BATCH-SBX', 1, 1, 'POC_CDL', 1, 'processing', 1.0, 0),
       ('BATCH-REAL', 2, 2, 'POC_CDL', 1, 'processing', 2.0, 0);
INSERT INTO documents (document_id, file_url, upload_id, row_number, chunk_id, batch_id, state,
                       created_at, updated_at)
VALUES ('S1', 'https://docs.test/ok/S1.jpg', 1, 2, 1, 'BATCH-SBX', 'submitted', 1.0, 1.0),
       ('R1', 'https://docs.test/ok/R1.jpg', 2, 2, 2, 'BATCH-REAL', 'submitted', 2.0, 2.0),
       ('Q1', 'https://docs.test/ok/Q1.jpg', 3, 2, 3, NULL, 'queued', 3.0, 3.0);
"""


def previous_ledger(path: Path, batch_ids: dict[str, str] | None = None) -> Path:
    """A ledger file at the schema before m003, holding the fixture's rows (batch ids renamed)."""
    conn = sqlite3.connect(path)
    MIGRATIONS.apply(sqlite_utils.Database(conn), stop_before="m003_record_the_target")
    rows = PREVIOUS_SCHEMA_ROWS
    for old, new in (batch_ids or {}).items():
        rows = rows.replace(old, new)
    conn.executescript(rows)
    conn.commit()
    columns = {r[1] for r in conn.execute("PRAGMA table_info(batches)")}
    conn.close()
    assert "target" not in columns  # truly the previous schema
    return path


def test_the_previous_schema_gains_targets_and_keeps_every_row(tmp_path):
    ledger = Ledger(previous_ledger(tmp_path / "atlas.db"))
    assert ledger.schema_version == len(MIGRATION_NAMES) and "m003_record_the_target" in MIGRATION_NAMES
    uploads, total = ledger.list_uploads()
    assert total == 3 and {u["target"] for u in uploads} == {UNKNOWN_TARGET}
    assert {ledger.batch(b)["target"] for b in ("BATCH-SBX", "BATCH-REAL")} == {UNKNOWN_TARGET}
    assert ledger.unknown_batches() == 2
    assert [d["document_id"] for d in ledger.iter_documents()] == ["S1", "R1", "Q1"]


def test_unknown_work_belongs_to_every_real_atlas_and_never_to_the_sandbox(tmp_path):
    path = previous_ledger(tmp_path / "atlas.db")
    Ledger(path).close()
    real = Ledger(path, target="https://api.atlas.example")
    assert list(real.known_ids(["S1", "R1", "Q1"])) == ["Q1", "R1", "S1"]
    assert sorted(real.due_batches()) == ["BATCH-REAL", "BATCH-SBX"]
    assert real.queued_work()["queued"] == 1
    sandbox = Ledger(path, target=SANDBOX_TARGET)
    assert list(sandbox.known_ids(["S1", "R1", "Q1"])) == []
    assert sandbox.due_batches() == [] and sandbox.queued_work()["queued"] == 0
    assert sandbox.claim_chunk("w") is None
    assert sandbox.list_uploads() == ([], 0)
    assert sandbox.other_targets() == [{"target": UNKNOWN_TARGET, "uploads": 3}]


def test_placing_the_sandboxs_batches_moves_their_uploads_and_chunks(tmp_path):
    ledger = Ledger(previous_ledger(tmp_path / "atlas.db"))
    assert ledger.place_sandbox_batches(["BATCH-SBX", "BATCH-NOT-HERE"]) == 1
    targets = {u["id"]: u["target"] for u in ledger.list_uploads()[0]}
    assert targets == {1: SANDBOX_TARGET, 2: UNKNOWN_TARGET, 3: UNKNOWN_TARGET}
    assert {c["target"] for c in chunks_of_upload(ledger, 1)} == {SANDBOX_TARGET}
    assert ledger.batch("BATCH-SBX")["target"] == SANDBOX_TARGET
    assert ledger.place_sandbox_batches(["BATCH-SBX"]) == 0  # done once
    real = Ledger(ledger.path, target="https://api.atlas.example")
    assert real.due_batches() == ["BATCH-REAL"] and list(real.known_ids(["S1", "R1"])) == ["R1"]


@pytest.mark.parametrize("target", [None, "https://api.atlas.example", SANDBOX_TARGET])
def test_a_ledger_without_other_targets_reads_as_before(ledger_location, target):
    from atlas_core.ledger import RowRecord, UploadRecord

    ledger = Ledger(ledger_location, target=target)
    ledger.record_upload(UploadRecord("a.csv", "POC_CDL"),
                         [RowRecord(2, "A1", "https://docs.test/ok/A1.jpg", True)], chunk_size=5)
    chunk = ledger.claim_chunk("w")
    ledger.record_sent(chunk.chunk_id, [("B1", "A1", "u1")])
    assert ledger.batch("B1")["target"] == (target or UNKNOWN_TARGET)
    assert ledger.other_targets() == []
    assert ledger.documents_page()[1] == 1 and ledger.list_uploads()[1] == 1
    assert ledger.documents_page(state=S.SUBMITTED)[1] == 1


def test_unknown_work_becomes_the_atlas_that_answers_for_it_or_takes_it(tmp_path):
    path = previous_ledger(tmp_path / "atlas.db")
    real = Ledger(path, target="https://api.atlas.example")
    assert real.claim_poll("BATCH-REAL", force=True)
    real.finish_poll("BATCH-REAL", 0)  # Atlas answered for it
    assert real.batch("BATCH-REAL")["target"] == "https://api.atlas.example"
    assert real.batch("BATCH-SBX")["target"] == UNKNOWN_TARGET  # not asked yet
    chunk = real.claim_chunk("w")
    assert chunk is not None and chunk.upload_id == 3
    real.record_sent(chunk.chunk_id, [("BATCH-NEW", "Q1", "u")])
    targets = {u["id"]: u["target"] for u in Ledger(path).list_uploads()[0]}
    assert targets == {1: UNKNOWN_TARGET, 2: real.target, 3: real.target}
    assert Ledger(path, target=SANDBOX_TARGET).other_targets() == [
        {"target": real.target, "uploads": 2}, {"target": UNKNOWN_TARGET, "uploads": 1}]


REAL = "https://api.atlas.example"


def run_work(ledger: Ledger, prefix: str, n: int, now: float) -> None:
    """An upload of ``n`` documents sent as one batch: a third failed and retried, the rest extracted."""
    from atlas_core.ledger import Interpreted, RowRecord, UploadRecord

    ids = [f"{prefix}{i}" for i in range(n)]
    rows = [RowRecord(i + 2, d, f"https://x.test/{d}.jpg", True) for i, d in enumerate(ids)]
    queued = ledger.record_upload(UploadRecord(f"{prefix}.csv", "POC_CDL"), rows, chunk_size=n, now=now)
    chunk = ledger.claim_chunk("w", upload_id=queued.upload_id, now=now)
    ledger.record_sent(chunk.chunk_id, [(f"B-{prefix}", d, "u") for _, d, _ in chunk.documents], now=now)
    results = [
        Interpreted(d, S.FAILED, error="unreadable") if i % 3 == 0 else
        Interpreted(d, S.EXTRACTED, "PAN" if i % 2 else "AADHAAR", None,
                    {"name": {"value": d, "confidence_score": 0.5 + (i % 5) / 10}}, 0.5 + (i % 5) / 10)
        for i, d in enumerate(ids)
    ]
    record_results(ledger, f"B-{prefix}", results, now=now + 60 * (n % 7))
    ledger.retry_failed(upload_id=queued.upload_id, now=now + 900)  # superseded attempts


def page_figures(ledger: Ledger) -> dict:
    """Everything the pages count or chart over the whole (scoped) ledger."""
    docs, total = ledger.documents_page(limit=1000)
    return {
        "documents": (sorted(d["document_id"] for d in docs), total),
        "extracted": ledger.documents_page(state=S.EXTRACTED, limit=1000)[1],
        "counts": ledger.counts_by_type_and_state(),
        "finished": ledger.finished_over_time(bucket_seconds=60),
        "fields": ledger.field_confidence(),
        "exported": sorted(d["document_id"] for d in ledger.iter_documents()),
        "uploads": [u["file_name"] for u in ledger.list_uploads()[0]],
    }


@pytest.mark.parametrize(("mine", "theirs"), [(30, 6), (6, 30)], ids=["hidden-smaller", "hidden-larger"])
def test_a_scoped_ledger_reads_exactly_what_a_ledger_of_its_work_alone_reads(
    ledger_location, request, mine, theirs,
):
    # Both query plans (taking a small hidden part off, or reading only the visible uploads)
    # must give what a file holding only this target's work gives, on either engine.
    shared = ledger_location
    run_work(Ledger(shared, target=SANDBOX_TARGET), "S", theirs, now=1000.0)
    run_work(Ledger(shared, target=REAL), "R", mine, now=2000.0)
    run_work(Ledger(shared, target=SANDBOX_TARGET), "T", theirs // 2, now=3000.0)
    alone = Ledger(another_location(request), target=REAL)
    run_work(alone, "R", mine, now=2000.0)
    scoped = page_figures(Ledger(shared, target=REAL))
    assert scoped == page_figures(alone)
    assert scoped["counts"] and scoped["finished"] and scoped["fields"]
