"""The shapes of the rows the ledger hands out (plain dicts at run time, typed for the checker).

Each is what one query selects; a query names its row type in its return annotation, so a
reader (a page, the CLI, results/) sees which keys it may use, and mypy checks them.
"""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class UploadRow(TypedDict):
    """An upload with its per-state document counts and progress (``list_uploads``, ``upload``)."""

    id: int
    file_name: str
    content_hash: str | None
    product_type: str
    submitted_by: str | None
    created_at: float
    rows_total: int
    rows_valid: int
    rows_invalid: int
    rows_skipped: int
    rows_held: int
    url_column: str | None
    id_column: str | None
    columns: list[str]  # the sheet's header, parsed from the stored JSON
    chunk_size: int
    forced: int
    target: str
    uncertain_chunks: int
    requests: int  # chunks sent or to send, numbered 1..N within the upload
    batches: int
    # Current documents, and how many are in each document state (states.DOCUMENT_STATES).
    documents: int
    queued: int
    submitted: int
    extracted: int
    failed: int
    uncertain: int
    rejected: int
    cancelled: int
    progress: float  # 0..1: finished documents of those that can still finish


class EarlierUpload(TypedDict):
    """An earlier upload of the same file (``uploads_with_hash``)."""

    id: int
    file_name: str
    created_at: float
    submitted_by: str | None


class OtherTarget(TypedDict):
    """How many uploads another Atlas's work holds (``other_targets``)."""

    target: str
    uploads: int


class BatchOverview(TypedDict):
    """A batch as the pages and ``status`` list it (``batches_overview``); state may be stalled."""

    batch_id: str
    upload_id: int
    file_name: str
    product_type: str
    documents: int
    extracted: int
    failed: int
    pending: int
    state: str
    created_at: float
    last_polled_at: float | None
    next_poll_at: float | None
    completed_at: float | None
    last_progress_at: float | None
    last_error: str | None
    total_items_reported: int | None


class BatchRow(TypedDict):
    """A batch's stored row (``batch``)."""

    batch_id: str
    upload_id: int
    chunk_id: int | None
    product_type: str
    documents: int
    extracted: int
    failed: int
    state: str
    created_at: float
    last_polled_at: float | None
    next_poll_at: float | None
    poll_step: int
    completed_at: float | None
    last_progress_at: float | None
    last_error: str | None
    total_items_reported: int | None
    target: str


class ChunkRow(TypedDict):
    """A chunk's stored row: one request to Atlas (``chunks_of_upload``, ``chunks_in_state``)."""

    id: int
    upload_id: int
    sequence: int
    state: str
    documents: int
    claimed_by: str | None
    claimed_at: float | None
    batch_id: str | None
    error: str | None
    attempts: int
    next_attempt_at: float | None
    created_at: float
    updated_at: float
    resolution: str | None
    resolved_by: str | None
    resolved_at: float | None
    target: str


class SendingChunk(TypedDict):
    """A chunk in flight with its worker's liveness (``sending_chunks``, to find orphans)."""

    chunk_id: int
    claimed_by: str | None
    claimed_at: float | None
    host: str | None
    pid: int | None
    pid_started: str | None
    heartbeat_at: float | None
    stopped_at: float | None
    process_scope: str | None  # m006 (None: registered before it, or by a caller without one)


class QueuedWork(TypedDict):
    """How many chunks are queued or in flight, and when the first queued one is due."""

    queued: int
    sending: int
    next_due: float | None


class DocumentRow(TypedDict):
    """A document row handed to results/ (``iter_documents``), file_data parsed."""

    id: int
    document_id: str
    batch_id: str | None
    file_url: str
    state: str
    document_type: str | None
    error: str | None
    file_data: dict[str, Any] | None  # Atlas's JSON, as stored
    min_confidence: float | None
    upload_id: int
    attempt: int
    row_number: int | None
    retry_of: int | None
    file_uuid: str | None
    submitted_at: float | None
    finished_at: float | None
    corrections: NotRequired[dict[str, str]]  # a person's corrections {field: value}, when any
    review: NotRequired[str]  # a person's decision (confirmed, corrected, rejected), when any
    original: NotRequired[dict[str, Any]]  # its sheet row's cells (iter_documents(with_sheet=True))


class DocumentListed(TypedDict):
    """A document as the results page lists it (``documents_page``)."""

    id: int
    document_id: str
    batch_id: str | None
    upload_id: int
    chunk_id: int | None
    row_number: int | None
    file_url: str
    file_uuid: str | None
    state: str
    error: str | None
    document_type: str | None
    min_confidence: float | None
    attempt: int
    retry_of: int | None
    superseded: int
    created_at: float
    submitted_at: float | None
    updated_at: float
    finished_at: float | None
    file_data: NotRequired[dict[str, Any] | None]  # only when asked for (with_file_data)


class Attempt(TypedDict):
    """One attempt at a document_id (``document_detail``'s ``attempts``)."""

    id: int
    batch_id: str | None
    state: str
    error: str | None
    attempt: int
    retry_of: int | None
    submitted_at: float | None
    finished_at: float | None


class DocumentDetail(DocumentListed):
    """One document with its file_data and every attempt at its document_id."""

    attempts: list[Attempt]


class UploadRowRead(TypedDict):
    """A spreadsheet row as read at upload (``iter_upload_rows``)."""

    row_number: int
    document_id: str | None
    file_url: str | None
    valid: bool
    disposition: str
    problems: list[dict[str, Any]]
    original: dict[str, Any]


class SheetRowRead(UploadRowRead):
    """A sheet row with its current document, for the sheet export (``iter_sheet``)."""

    document: DocumentRow | None
    holder: dict[str, int] | None  # a left-out duplicate's ID: the upload and row holding it


class WorkerRow(TypedDict):
    """A worker process as registered (``workers``)."""

    id: str
    host: str
    pid: int
    pid_started: str | None
    kind: str | None
    started_at: float
    heartbeat_at: float
    stopped_at: float | None
    last_error: str | None
    activity: str | None  # m006: sending, refreshing, idle, paused... (None before it said)
    process_scope: str | None  # m006: boot id and pid namespace, where ``pid`` means something


class TypeStateCount(TypedDict):
    """Current documents of one (document_type, state) (``counts_by_type_and_state``)."""

    document_type: str | None
    state: str
    documents: int


class FieldSample(TypedDict):
    """One field's confidence in one sampled document (``field_confidence_sample``)."""

    document_type: str | None
    field: str
    confidence: float


class FieldConfidence(TypedDict):
    """One field's confidence over the sample (``field_confidence``)."""

    field: str
    values_seen: int
    mean_confidence: float
    min_confidence: float
    histogram: list[int]
    below_threshold: int | None


class FinishedBucket(TypedDict):
    """Documents finished in one time bucket (``finished_over_time``)."""

    bucket: float
    extracted: int
    failed: int


class ReviewClaim(TypedDict):
    """A document a reviewer holds right now (``review_claims``)."""

    document: int
    document_id: str
    claimed_by: str
    claim_expires_at: float
