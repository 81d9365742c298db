"""Why documents failed, and whether sending them again can help: the one rule for page and CLI.

A failure is "fix the file or link" when Atlas could not download the file, could not read the
image or does not take its type: sending the same link again fails the same way. Everything else
(timeouts, Atlas's own errors, an answer with no data) is "retry may help".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

FIX, RETRY = "fix", "retry"
KIND_LABELS = {FIX: "Fix the file or link", RETRY: "Retry may help"}

# Atlas's codes and the words of its messages (lower case) that say the file itself is at fault.
_FIX_MARKERS = (
    "invalid_doc",
    "unrecognised",
    "unrecognized",
    "unsupported",
    "not supported",
    "could not be downloaded",
    "could not download",
    "cannot download",
    "not a valid document",
    "no valid document",
    "could not be read",
    "could not read",
    "unreadable",
    "not recognised",
    "not recognized",
)


def failure_kind(error: object) -> str:
    """FIX when the file or link must change before a retry can work, else RETRY."""
    lowered = str(error or "").lower()
    return FIX if any(marker in lowered for marker in _FIX_MARKERS) else RETRY


@dataclass(frozen=True)
class FailureReason:
    """One reason documents failed, how many, and whether a retry may help."""

    reason: str
    kind: str
    documents: int

    @property
    def retriable(self) -> bool:
        """True when sending these documents again may help."""
        return self.kind == RETRY


def explain_failures(rows: Iterable[Mapping[str, Any]]) -> list[FailureReason]:
    """Rows of ``{error, documents}`` (the ledger's ``failure_reasons``) as reasons, most first."""
    reasons = [
        FailureReason(str(r.get("error") or "Atlas gave no reason"), failure_kind(r.get("error")),
                      int(r.get("documents") or 0))
        for r in rows
    ]
    return sorted(reasons, key=lambda r: (-r.documents, r.reason))


def count_of(reasons: Iterable[FailureReason], kind: str) -> int:
    """How many documents failed for reasons of one kind."""
    return sum(r.documents for r in reasons if r.kind == kind)


def is_retriable(document: Mapping[str, Any]) -> bool:
    """True when a failed document (a ledger row with ``error``) may succeed if sent again."""
    return failure_kind(document.get("error")) == RETRY


def needs_fixing(document: Mapping[str, Any]) -> bool:
    """True when a failed document's file or link must be fixed before sending it again."""
    return failure_kind(document.get("error")) == FIX
