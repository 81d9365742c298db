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

# Reviews (reviews.state): one row per document a person looks at; decided ones stay.
TO_REVIEW = "to_review"
CONFIRMED = "confirmed"
CORRECTED = "corrected"
REVIEW_REJECTED = "rejected"  # a person rejected the document (not Atlas refusing an upload)
REVIEW_STATES = (TO_REVIEW, CONFIRMED, CORRECTED, REVIEW_REJECTED)
REVIEW_DECIDED = (CONFIRMED, CORRECTED, REVIEW_REJECTED)
# Why a document is in the review queue (reviews.why).
BELOW_THRESHOLD = "below_threshold"  # its lowest confidence is under the threshold
SAMPLE = "sample"  # the quality-control sample of the rest
CHOSEN = "chosen"  # a person opened it outside the queue (from Results, or a file import)
REVIEW_REASONS = (BELOW_THRESHOLD, SAMPLE, CHOSEN)


def sql_literals(*states: str) -> str:
    """The states as SQL string literals, comma-separated: ``'extracted', 'failed'``.

    For statements whose plan must not depend on bound values (a literal lets the planner
    weigh the index for that state); the names still come from here, never typed in SQL.
    """
    return ", ".join(f"'{state}'" for state in states)


# What became of a spreadsheet row, in the words every export shows (``status``): the one
# mapping from the ledger's states. A row with a document takes its document's; a row without
# one (left out at upload, or never queued) takes its disposition's.
OUTCOME_EXTRACTED = "extracted"
OUTCOME_FAILED = "failed"
OUTCOME_PENDING = "pending"  # queued here or sent, no result yet
OUTCOME_LEFT_OUT = "left out"  # invalid, or its ID was already sent: never sent for this row
OUTCOME_HELD = "held"  # held back by a pilot run; can still be sent
OUTCOME_MISSING = "missing"  # valid and queued, yet no document holds it (should not happen)
OUTCOME_OF_DOCUMENT = {
    QUEUED: OUTCOME_PENDING,
    SUBMITTED: OUTCOME_PENDING,
    EXTRACTED: OUTCOME_EXTRACTED,
    FAILED: OUTCOME_FAILED,
    UNCERTAIN: UNCERTAIN,
    REJECTED: REJECTED,
    CANCELLED: CANCELLED,
}
OUTCOME_OF_ROW = {
    ROW_INVALID: OUTCOME_LEFT_OUT,
    ROW_DUPLICATE: OUTCOME_LEFT_OUT,
    ROW_HELD: OUTCOME_HELD,
    ROW_CANCELLED: CANCELLED,
    ROW_QUEUED: OUTCOME_MISSING,
}


def row_outcome(state: str | None, disposition: str | None = None) -> str:
    """A row's status word: its document's ``state`` if it has one, else its ``disposition``'s."""
    if state is not None:
        return OUTCOME_OF_DOCUMENT.get(state, str(state))
    return OUTCOME_OF_ROW.get(str(disposition), OUTCOME_MISSING)


# The balance of an upload: every spreadsheet row counts in exactly one of these parts, by its
# status word (``row_outcome``, the rule the exports' ``status`` column follows).
BALANCE_EXTRACTED = "extracted"
BALANCE_FAILED = "failed"
BALANCE_LEFT_OUT = "left_out"  # never sent on purpose: invalid, duplicate, held, cancelled
BALANCE_MISSING = "missing"  # queued to be sent, but no current document: must stay 0
BALANCE_PENDING = "pending"  # queued, with Atlas, or uncertain: no outcome yet
BALANCE_PARTS = (BALANCE_EXTRACTED, BALANCE_FAILED, BALANCE_LEFT_OUT, BALANCE_MISSING,
                 BALANCE_PENDING)
BALANCE_OF_OUTCOME = {
    OUTCOME_EXTRACTED: BALANCE_EXTRACTED,
    OUTCOME_FAILED: BALANCE_FAILED,
    REJECTED: BALANCE_FAILED,  # Atlas refused the request: no result will come
    OUTCOME_PENDING: BALANCE_PENDING,
    UNCERTAIN: BALANCE_PENDING,  # waits for a person's decision
    OUTCOME_LEFT_OUT: BALANCE_LEFT_OUT,
    OUTCOME_HELD: BALANCE_LEFT_OUT,  # left out by the pilot, for now
    CANCELLED: BALANCE_LEFT_OUT,  # a person cancelled it (or dropped an uncertain send)
    OUTCOME_MISSING: BALANCE_MISSING,
}


def balance_part(disposition: str | None, state: str | None) -> str:
    """Which part of the balance a sheet row counts in, from its disposition and the state of
    its current document (None when it has none); an unknown state counts as pending.

    Only a queued row has a document of its own: any other row is left out on purpose, whatever
    document holds its ID (an earlier row's, or another upload's).
    """
    outcome = row_outcome(state if disposition == ROW_QUEUED else None, disposition)
    return BALANCE_OF_OUTCOME.get(outcome, BALANCE_PENDING)
