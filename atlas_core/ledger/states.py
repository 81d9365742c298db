"""The states a document, a chunk and a batch can be in, named once for SQL and Python alike."""

from __future__ import annotations

# Documents.
QUEUED = "queued"
SUBMITTED = "submitted"
EXTRACTED = "extracted"
FAILED = "failed"
UNCERTAIN = "uncertain"  # sent, but whether Atlas took it is unknown
REJECTED = "rejected"  # Atlas refused the upload (400/422)
CANCELLED = "cancelled"
DOCUMENT_STATES = (QUEUED, SUBMITTED, EXTRACTED, FAILED, UNCERTAIN, REJECTED, CANCELLED)
FINISHED_DOCUMENT_STATES = (EXTRACTED, FAILED)

# Chunks: one multiupload request each.
SENDING = "sending"
SENT = "sent"
CHUNK_STATES = (QUEUED, SENDING, SENT, UNCERTAIN, REJECTED, CANCELLED)

# Batches: stored as processing/complete/complete_with_failures; "stalled" is derived on read.
PROCESSING = "processing"
COMPLETE = "complete"
COMPLETE_WITH_FAILURES = "complete_with_failures"
STALLED = "stalled"
BATCH_STATES = (PROCESSING, COMPLETE, COMPLETE_WITH_FAILURES, STALLED)
FINISHED_BATCH_STATES = (COMPLETE, COMPLETE_WITH_FAILURES)

# What became of each spreadsheet row (upload_rows.disposition).
ROW_QUEUED = "queued"
ROW_INVALID = "invalid"
ROW_DUPLICATE = "duplicate"  # its document_id was already submitted; skipped
ROW_HELD = "held"  # left out by a pilot run; can be queued later
ROW_CANCELLED = "cancelled"  # held, then cancelled
ROW_DISPOSITIONS = (ROW_QUEUED, ROW_INVALID, ROW_DUPLICATE, ROW_HELD, ROW_CANCELLED)


def sql_literals(*states: str) -> str:
    """The states as SQL string literals, comma-separated: ``'extracted', 'failed'``.

    For statements whose plan must not depend on bound values (a literal lets the planner
    weigh the index for that state); the names still come from here, never typed in SQL.
    """
    return ", ".join(f"'{state}'" for state in states)


# The balance of an upload: every spreadsheet row is counted in exactly one of these parts.
BALANCE_EXTRACTED = "extracted"
BALANCE_FAILED = "failed"
BALANCE_LEFT_OUT = "left_out"  # never sent on purpose: invalid, duplicate, held, cancelled
BALANCE_MISSING = "missing"  # queued to be sent, but no current document: must stay 0
BALANCE_PENDING = "pending"  # queued, with Atlas, or uncertain: no outcome yet
BALANCE_PARTS = (BALANCE_EXTRACTED, BALANCE_FAILED, BALANCE_LEFT_OUT, BALANCE_MISSING,
                 BALANCE_PENDING)
# A queued row, by the state of its current document (an unknown state counts as pending).
BALANCE_OF_STATE = {
    EXTRACTED: BALANCE_EXTRACTED,
    FAILED: BALANCE_FAILED,
    REJECTED: BALANCE_FAILED,  # Atlas refused the request: no result will come
    CANCELLED: BALANCE_LEFT_OUT,  # a person cancelled it (or dropped an uncertain send)
    QUEUED: BALANCE_PENDING,
    SUBMITTED: BALANCE_PENDING,
    UNCERTAIN: BALANCE_PENDING,
}


def balance_part(disposition: str | None, state: str | None) -> str:
    """Which part of the balance a sheet row counts in, from its disposition and the state of
    its current document (None when it has none)."""
    if disposition != ROW_QUEUED:
        return BALANCE_LEFT_OUT
    if state is None:
        return BALANCE_MISSING
    return BALANCE_OF_STATE.get(state, BALANCE_PENDING)
