"""The review queue: which documents need a person, their fields, decisions and the Excel round trip.

``queue.py`` holds the one rule that puts a document in the queue; ``fields.py`` lists a
document's fields and overlays a person's corrections on Atlas's answer; ``models.py`` the
records a page or the CLI receives. The ledger (``ledger/reviews.py``) stores the queue, the
claims and the corrections; ``workbook.py`` is the Excel round trip. Nothing here runs SQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .fields import apply_corrections, with_corrections
    from .models import ReviewCounts, ReviewField, ReviewItem
    from .queue import ReviewPolicy, why_review

__all__ = [
    "ReviewCounts",
    "ReviewField",
    "ReviewItem",
    "ReviewPolicy",
    "apply_corrections",
    "why_review",
    "with_corrections",
]

# Lazily, so the ledger may import queue.py and fields.py without loading the workbook code.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "fields": ("apply_corrections", "with_corrections"),
        "models": ("ReviewCounts", "ReviewField", "ReviewItem"),
        "queue": ("ReviewPolicy", "why_review"),
    },
)
