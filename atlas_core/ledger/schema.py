"""The ledger's schema as sqlite-utils migrations, applied in order when a ledger opens.

sqlite-utils records each applied migration by name in ``_sqlite_migrations``. ``migrate`` runs
inside the caller's ``BEGIN IMMEDIATE`` transaction (sqlite-utils nests each migration in a
savepoint), so two processes opening a fresh file at once apply it exactly once, and a failed
migration leaves the file as it was. Append new migrations; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite_utils
from sqlite_utils.migrations import Migrations

from ..errors import LedgerError

MIGRATIONS = Migrations("atlas-bulk-ops-ledger")
MIGRATION_NAMES: list[str] = []


def _migration(fn):  # type: ignore[no-untyped-def]
    MIGRATION_NAMES.append(fn.__name__)
    return MIGRATIONS()(fn)

_V1 = [
    """
    CREATE TABLE uploads (
        id INTEGER PRIMARY KEY,
        file_name TEXT NOT NULL,
        content_hash TEXT,
        product_type TEXT NOT NULL,
        submitted_by TEXT,
        created_at REAL NOT NULL,
        rows_total INTEGER NOT NULL DEFAULT 0,
        rows_valid INTEGER NOT NULL DEFAULT 0,
        rows_invalid INTEGER NOT NULL DEFAULT 0,
        rows_skipped INTEGER NOT NULL DEFAULT 0,
        rows_held INTEGER NOT NULL DEFAULT 0,
        url_column TEXT,
        id_column TEXT,
        columns TEXT,
        chunk_size INTEGER NOT NULL DEFAULT 100,
        forced INTEGER NOT NULL DEFAULT 0
    )
    """,
    "CREATE INDEX uploads_hash ON uploads(content_hash)",
    """
    CREATE TABLE upload_rows (
        id INTEGER PRIMARY KEY,
        upload_id INTEGER NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
        row_number INTEGER NOT NULL,
        document_id TEXT,
        file_url TEXT,
        valid INTEGER NOT NULL,
        disposition TEXT NOT NULL,
        problems TEXT,
        original TEXT,
        UNIQUE (upload_id, row_number)
    )
    """,
    "CREATE INDEX upload_rows_disposition ON upload_rows(upload_id, disposition)",
    """
    CREATE TABLE chunks (
        id INTEGER PRIMARY KEY,
        upload_id INTEGER NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
        sequence INTEGER NOT NULL,
        state TEXT NOT NULL,
        documents INTEGER NOT NULL DEFAULT 0,
        claimed_by TEXT,
        claimed_at REAL,
        batch_id TEXT,
        error TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        resolution TEXT,
        resolved_by TEXT,
        resolved_at REAL,
        UNIQUE (upload_id, sequence)
    )
    """,
    "CREATE INDEX chunks_state ON chunks(state, next_attempt_at)",
    """
    CREATE TABLE batches (
        batch_id TEXT PRIMARY KEY,
        upload_id INTEGER NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
        chunk_id INTEGER REFERENCES chunks(id),
        product_type TEXT NOT NULL,
        documents INTEGER NOT NULL DEFAULT 0,
        extracted INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        state TEXT NOT NULL,
        created_at REAL NOT NULL,
        last_polled_at REAL,
        next_poll_at REAL,
        poll_step INTEGER NOT NULL DEFAULT 0,
        completed_at REAL,
        last_progress_at REAL,
        last_error TEXT,
        total_items_reported INTEGER
    )
    """,
    "CREATE INDEX batches_due ON batches(state, next_poll_at)",
    "CREATE INDEX batches_upload ON batches(upload_id)",
    """
    CREATE TABLE documents (
        id INTEGER PRIMARY KEY,
        document_id TEXT NOT NULL,
        file_url TEXT NOT NULL,
        upload_id INTEGER NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
        row_number INTEGER,
        chunk_id INTEGER REFERENCES chunks(id),
        batch_id TEXT,
        file_uuid TEXT,
        state TEXT NOT NULL,
        error TEXT,
        created_at REAL NOT NULL,
        submitted_at REAL,
        updated_at REAL NOT NULL,
        finished_at REAL,
        document_type TEXT,
        file_data TEXT,
        min_confidence REAL,
        attempt INTEGER NOT NULL DEFAULT 1,
        retry_of INTEGER REFERENCES documents(id),
        superseded INTEGER NOT NULL DEFAULT 0,
        forced INTEGER NOT NULL DEFAULT 0
    )
    """,
    "CREATE INDEX documents_batch ON documents(batch_id, document_id)",
    "CREATE INDEX documents_upload_state ON documents(upload_id, state)",
    "CREATE INDEX documents_chunk ON documents(chunk_id)",
    "CREATE INDEX documents_document_id ON documents(document_id, state)",
    "CREATE INDEX documents_state_type ON documents(state, document_type)",
    # No index on finished_at or min_confidence: each costs ~2 us per stored result, and their
    # queries (charts, review filters) scan 100,000 rows in tens of milliseconds anyway.
    "CREATE INDEX documents_retry_of ON documents(retry_of)",
    """
    CREATE TABLE workers (
        id TEXT PRIMARY KEY,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        pid_started TEXT,
        kind TEXT,
        started_at REAL NOT NULL,
        heartbeat_at REAL NOT NULL,
        stopped_at REAL,
        last_error TEXT
    )
    """,
]

@_migration
def m001_initial_schema(db: sqlite_utils.Database) -> None:
    """Uploads, their rows, chunks, batches, documents and workers."""
    for statement in _V1:
        db.execute(statement)


_V2 = [
    # One upload's current documents newest first without sorting them, and its few superseded
    # ones at once (the pages' counts subtract those from the batches' counters). Storing a
    # result never changes these columns, so refreshing does not pay for this index.
    "CREATE INDEX documents_upload_current ON documents(upload_id, superseded)",
    # finished_at joins (state, document_type): storing a result rewrites that entry anyway (it
    # sets state and type), so the chart of finished documents and the per-type counts read
    # only this index, at no extra cost per stored result.
    "DROP INDEX documents_state_type",
    "CREATE INDEX documents_state_finished ON documents(state, finished_at, document_type)",
]


@_migration
def m002_indexes_for_pages(db: sqlite_utils.Database) -> None:
    """Indexes for the pages' counts, chart and pages of documents (see _V2)."""
    for statement in _V2:
        db.execute(statement)


_V3 = [
    # Which Atlas each upload, chunk and batch is for: "sandbox", or the base URL normalised and
    # without credentials (see targets.py). Rows from before this migration cannot be placed by
    # the ledger alone (sandbox batch ids look like Atlas's), so they get "unknown"; the runtime
    # moves those the sandbox journal holds to "sandbox" when it opens.
    "ALTER TABLE uploads ADD COLUMN target TEXT NOT NULL DEFAULT 'unknown'",
    "ALTER TABLE chunks ADD COLUMN target TEXT NOT NULL DEFAULT 'unknown'",
    "ALTER TABLE batches ADD COLUMN target TEXT NOT NULL DEFAULT 'unknown'",
    # Scoped reads find a target's uploads here; chunks and batches are found by their state
    # indexes first, and a target is a cheap filter on those few rows.
    "CREATE INDEX uploads_target ON uploads(target)",
]


@_migration
def m003_record_the_target(db: sqlite_utils.Database) -> None:
    """Record which Atlas (sandbox or base URL) each upload, chunk and batch is for (see _V3)."""
    for statement in _V3:
        db.execute(statement)


_V4 = [
    # One row per document a person is to look at (to_review) or has looked at (confirmed,
    # corrected, rejected). Atlas's answer stays verbatim in documents.file_data; corrections sit
    # beside it. priority is the lowest confidence (1.0 when Atlas sent none): lowest first.
    """
    CREATE TABLE reviews (
        document INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
        upload_id INTEGER NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
        state TEXT NOT NULL,
        why TEXT NOT NULL,
        priority REAL NOT NULL,
        revision INTEGER NOT NULL DEFAULT 0,
        claimed_by TEXT,
        claim_expires_at REAL,
        claimed_version REAL,
        decided_by TEXT,
        decided_at REAL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )
    """,
    # The next document to review is the first entry of this index past the held ones; with an
    # upload chosen, of the second.
    "CREATE INDEX reviews_queue ON reviews(state, priority, document)",
    "CREATE INDEX reviews_upload_queue ON reviews(upload_id, state, priority, document)",
    "CREATE INDEX reviews_claimed_by ON reviews(claimed_by)",
    "CREATE INDEX reviews_decided ON reviews(decided_at)",
    """
    CREATE TABLE corrections (
        id INTEGER PRIMARY KEY,
        document INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        field TEXT NOT NULL,
        atlas_value TEXT,
        corrected_value TEXT NOT NULL,
        corrected_by TEXT NOT NULL,
        corrected_at REAL NOT NULL,
        UNIQUE (document, field)
    )
    """,
    # Results stored since the queue last looked (filled where results are stored, drained by
    # the next claim or count), and the rule the queue was chosen by (one row, id 1).
    "CREATE TABLE review_inbox (document INTEGER PRIMARY KEY)",
    """
    CREATE TABLE review_sync (
        id INTEGER PRIMARY KEY,
        policy TEXT NOT NULL,
        synced_at REAL NOT NULL
    )
    """,
]


@_migration
def m004_review_queue(db: sqlite_utils.Database) -> None:
    """The review queue, its claims and decisions, and the corrections beside Atlas's answer (see _V4)."""
    for statement in _V4:
        db.execute(statement)


def schema_version(db: sqlite_utils.Database) -> int:
    """How many of this version's migrations the database has had."""
    return len(MIGRATIONS.applied(db))


def migrate(db: sqlite_utils.Database) -> int:
    """Apply the migrations this database lacks (inside the caller's transaction); return the count."""
    unknown = [m.name for m in MIGRATIONS.applied(db) if m.name not in MIGRATION_NAMES]
    if unknown:
        raise LedgerError(
            f"The ledger was written by a newer version of Atlas Bulk Ops (migration {unknown[-1]}).",
            hint="Update Atlas Bulk Ops, or point ATLAS_DB_PATH at another file.",
        )
    MIGRATIONS.apply(db)
    return schema_version(db)
