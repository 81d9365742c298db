"""The one rule that puts a document in the review queue.

A current, extracted document needs a person when its lowest confidence is under the threshold,
or, as quality control, when it falls in a random sample of the rest at ``sample_rate``. The
sample is a hash of the document's ID, not a draw: the same documents stay sampled across
restarts, reviewers and processes, and a retried document keeps its place in (or out of) it.
A document without any confidence score is not "under the threshold" (as on the Results page);
it can still be sampled.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from ..config import (
    DEFAULT_REVIEW_LEASE,
    DEFAULT_REVIEW_SAMPLE_RATE,
    DEFAULT_REVIEW_THRESHOLD,
    Settings,
)
from ..errors import ConfigError
from ..ledger import states as S

_SCALE = float(1 << 64)


@dataclass(frozen=True)
class ReviewPolicy:
    """Which documents need a person, and how long a reviewer holds one."""

    threshold: float = DEFAULT_REVIEW_THRESHOLD
    sample_rate: float = DEFAULT_REVIEW_SAMPLE_RATE
    lease: float = DEFAULT_REVIEW_LEASE  # seconds

    def __post_init__(self) -> None:
        for name in ("threshold", "sample_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:  # NaN too
                raise ConfigError(f"The review {name.replace('_', ' ')} must be between 0 and 1 (got {value!r}).")
        if not 0 < self.lease < math.inf:
            raise ConfigError(f"The review lease must be a number of seconds above 0 (got {self.lease!r}).")

    @classmethod
    def from_settings(cls, settings: Settings) -> ReviewPolicy:
        """The policy the settings name (ATLAS_REVIEW_THRESHOLD, _SAMPLE_RATE, _LEASE)."""
        return cls(settings.review_threshold, settings.review_sample_rate, settings.review_lease)

    @property
    def key(self) -> str:
        """What decides the queue's membership, as text (the lease does not)."""
        return f"threshold={self.threshold!r} sample_rate={self.sample_rate!r}"

    def is_weak(self, confidence: object) -> bool:
        """True for a confidence score under the threshold (a field to look at first)."""
        return isinstance(confidence, int | float) and not isinstance(confidence, bool) and confidence < self.threshold


def sample_point(document_id: str) -> float:
    """Where a document ID falls in [0, 1): the same ID always falls at the same point."""
    digest = hashlib.blake2b(document_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def why_review(document_id: str, min_confidence: float | None, policy: ReviewPolicy) -> str | None:
    """Why an extracted document needs a person (below_threshold or sample), or None."""
    if min_confidence is not None and min_confidence < policy.threshold:
        return S.BELOW_THRESHOLD
    if policy.sample_rate > 0 and sample_point(document_id) < policy.sample_rate:
        return S.SAMPLE
    return None
