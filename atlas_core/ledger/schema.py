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


_V5 = [
    # The cells an analyst fixed on the Upload page before sending: the sheet's value and the
    # typed one, who and when. The reconciliation report lists them; upload_rows.original keeps
    # the fixed value (what was sent), so the old one lives only here.
    """
    CREATE TABLE cell_fixes (
        id INTEGER PRIMARY KEY,
        upload_id INTEGER NOT NULL REFERENCES uploads(id) ON DELETE CASCADE,
        row_number INTEGER NOT NULL,
        column_name TEXT NOT NULL,
        old_value TEXT,
        new_value TEXT,
        fixed_by TEXT,
        fixed_at REAL NOT NULL
    )
    """,
    "CREATE INDEX cell_fixes_upload ON cell_fixes(upload_id, row_number)",
    # The balance's "missing" check, index to index: each queued row (by number, from upload_rows
    # alone) probes for a current document without reading either table. Storing a result never
    # changes these columns (a retry sets superseded, rarely), so refreshing does not pay for it.
    "CREATE INDEX documents_upload_row ON documents(upload_id, row_number, superseded)",
    "DROP INDEX upload_rows_disposition",  # a prefix of the next one
    "CREATE INDEX upload_rows_disposition_row ON upload_rows(upload_id, disposition, row_number)",
]


@_migration
def m005_cell_fixes_and_row_balance(db: sqlite_utils.Database) -> None:
    """Record the cells fixed before sending, and index documents by sheet row (see _V5)."""
    for statement in _V5:
        db.execute(statement)


_V6 = [
    # Issue 13: a submit budget shared by every worker on the ledger. A lease is one request's
    # right to be in flight to Atlas; slot numbers 1..ATLAS_MAX_IN_FLIGHT are the primary key, so
    # two workers can never hold the same one, and a killed worker's lease expires (expires_at is
    # renewed by its heartbeat while it lives).
    """
    CREATE TABLE submit_leases (
        slot INTEGER NOT NULL PRIMARY KEY,
        holder TEXT NOT NULL,
        acquired_at REAL NOT NULL,
        expires_at REAL NOT NULL
    )
    """,
    # "Refresh now" and new work, for every worker: a counter per signal that workers poll
    # cheaply (one primary-key read), and that PostgreSQL also announces with NOTIFY.
    """
    CREATE TABLE ledger_signals (
        name TEXT PRIMARY KEY,
        serial INTEGER NOT NULL DEFAULT 0,
        signalled_at REAL
    )
    """,
    # No rows until the first signal: a fresh ledger stays empty (ledger-copy copies into one).
    # What a worker is doing (sending, refreshing, idle, paused...), for the dashboard's sidebar.
    "ALTER TABLE workers ADD COLUMN activity TEXT",
    # Where its pid means something: the kernel's boot id and the pid namespace. Containers may
    # share a host name and pids; only a worker in this same scope can be checked by its pid.
    "ALTER TABLE workers ADD COLUMN process_scope TEXT",
]


@_migration
def m006_workers_share_one_ledger(db: sqlite_utils.Database) -> None:
    """Submit leases, signals to every worker, and what each worker does (see _V6)."""
    for statement in _V6:
        db.execute(statement)


def schema_version(db: sqlite_utils.Database) -> int:
    """How many of this version's migrations the database has had."""
    return len(MIGRATIONS.applied(db))


def refuse_newer(applied: list[str], setting: str = "ATLAS_DB_PATH") -> None:
    """Raise LedgerError when the database holds a migration this version does not know."""
    unknown = [name for name in applied if name not in MIGRATION_NAMES]
    if unknown:
        raise LedgerError(
            f"The ledger was written by a newer version of Atlas Bulk Ops (migration {unknown[-1]}).",
            hint=f"Update Atlas Bulk Ops, or point {setting} at another"
                 f" {'file' if setting == 'ATLAS_DB_PATH' else 'database'}.",
        )


def pending_for(applied: list[str]) -> list[Migrations._Migration]:
    """The migrations, in order, that a database with ``applied`` lacks (PostgreSQL's own record)."""
    done = set(applied)
    return [m for m in MIGRATIONS._migrations if m.name not in done]


def migrate(db: sqlite_utils.Database) -> int:
    """Apply the migrations this database lacks (inside the caller's transaction); return the count."""
    refuse_newer([m.name for m in MIGRATIONS.applied(db)])
    MIGRATIONS.apply(db)
    return schema_version(db)
