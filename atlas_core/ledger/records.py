"""Plain records passed into and out of the ledger (no SQL here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import redact


@dataclass(frozen=True)
class UploadRecord:
    """One submitted spreadsheet, as the ledger keeps it."""

    file_name: str
    product_type: str
    content_hash: str | None = None
    submitted_by: str | None = None
    url_column: str | None = None
    id_column: str | None = None
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class RowRecord:
    """One spreadsheet row as read: valid or not, with its problems and original cells."""

    row_number: int
    document_id: str | None
    file_url: str | None
    valid: bool
    problems: tuple[dict[str, Any], ...] = ()
    original: dict[str, Any] | None = None
    original_json: str | None = None  # ``original`` already serialised (instead of it), if given


@dataclass(frozen=True)
class QueuedUpload:
    """What recording an upload did: its id, and how many rows went where."""

    upload_id: int
    queued: int
    invalid: int
    held: int
    skipped_ids: tuple[str, ...] = ()
    chunk_ids: tuple[int, ...] = ()
    same_file_uploads: tuple[int, ...] = ()

    @property
    def skipped(self) -> int:
        """How many valid rows were skipped because their document_id was already submitted."""
        return len(self.skipped_ids)


@dataclass(frozen=True)
class ClaimedChunk:
    """A chunk one worker has claimed for sending, with its documents."""

    chunk_id: int
    upload_id: int
    product_type: str
    attempts: int
    documents: tuple[tuple[int, str, str], ...] = field(default=())  # (row id, document_id, file_url)


@dataclass(frozen=True)
class Interpreted:
    """A result to store for one document of a batch (the ledger's view of an Interpretation)."""

    document_id: str
    state: str  # extracted, failed or pending
    document_type: str | None = None
    error: str | None = None
    file_data: dict[str, Any] | None = None
    min_confidence: float | None = None
    file_data_json: str | None = None  # file_data already serialised (off the write path), if given

    def __post_init__(self) -> None:
        # Atlas's per-document error text is stored and exported: scrub it on the way in.
        if self.error:
            object.__setattr__(self, "error", redact(self.error))


@dataclass(frozen=True)
class CellFix:
    """One cell the analyst changed on the Upload page before sending: the sheet's value and the new one."""

    row_number: int
    column: str
    old_value: str | None
    new_value: str | None
