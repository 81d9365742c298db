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
