"""What the review queue hands a page or the CLI: a document with its fields, and the counts."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..results.flatten import Cell


@dataclass(frozen=True)
class ReviewField:
    """One field as a reviewer sees it: Atlas's value and confidence, and a person's correction."""

    name: str
    value: Cell  # Atlas's value, verbatim
    confidence: Cell  # a number, or None when Atlas sent none (text when it sent odd text)
    weak: bool  # confidence under the policy's threshold: look here first
    corrected: str | None = None  # the person's value; None when not corrected
    corrected_by: str | None = None

    @property
    def final(self) -> Cell:
        """The value every export gives: the correction where there is one."""
        return self.value if self.corrected is None else self.corrected


@dataclass(frozen=True)
class ReviewItem:
    """One document under review (or reviewed), with everything the Review page shows."""

    document: int  # the ledger's documents.id: the key of every review call
    document_id: str  # the analyst's ID from the spreadsheet
    upload_id: int
    row_number: int | None
    file_url: str  # a pre-signed URL: it may have expired (the page says so)
    document_type: str | None
    min_confidence: float | None
    state: str  # to_review, confirmed, corrected, rejected (states.REVIEW_STATES)
    why: str  # below_threshold, sample or chosen
    fields: tuple[ReviewField, ...]
    version: float  # Atlas's answer as of this read (documents.updated_at): decide checks it
    revision: int = 0  # review changes so far: a file import checks it was not changed since
    claimed_by: str | None = None
    claim_expires_at: float | None = None
    decided_by: str | None = None
    decided_at: float | None = None

    @property
    def corrections(self) -> dict[str, str]:
        """The corrected fields and their values."""
        return {f.name: f.corrected for f in self.fields if f.corrected is not None}

    @property
    def weak_fields(self) -> list[str]:
        """The names of the fields under the threshold."""
        return [f.name for f in self.fields if f.weak]

    @property
    def stamp(self) -> str:
        """The version a file export records, to tell on import whether the document changed since."""
        return f"{self.revision}:{self.version!r}"


@dataclass(frozen=True)
class ReviewCounts:
    """How the queue stands: left to review, held right now, and decided since a time, by whom."""

    to_review: int
    in_review: int  # of to_review, held by a reviewer right now
    done: int  # decided since ``since``
    since: float
    by_reviewer: dict[str, int] = field(default_factory=dict)  # decided since ``since``
    by_state: dict[str, int] = field(default_factory=dict)  # confirmed / corrected / rejected since
