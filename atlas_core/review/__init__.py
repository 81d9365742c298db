"""The review queue: which documents need a person, their fields, decisions and the Excel round trip.

``queue.py`` holds the one rule that puts a document in the queue; ``models.py`` the records a
page or the CLI receives. A document's fields, and a person's corrections laid over Atlas's
answer for every export, are in ``results/corrections.py``. The ledger (``ledger/reviews.py``) stores the queue, the
claims and the corrections; ``workbook.py`` is the Excel round trip. Nothing here runs SQL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:
    from .models import ReviewCounts, ReviewField, ReviewItem
    from .queue import ReviewPolicy, why_review
    from .workbook import ImportCheck, apply_import, check_import, write_queue

__all__ = [
    "ImportCheck",
    "ReviewCounts",
    "ReviewField",
    "ReviewItem",
    "ReviewPolicy",
    "apply_import",
    "check_import",
    "why_review",
    "write_queue",
]

# Lazily, so the ledger may import queue.py without loading the workbook code.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "models": ("ReviewCounts", "ReviewField", "ReviewItem"),
        "queue": ("ReviewPolicy", "why_review"),
        "workbook": ("ImportCheck", "apply_import", "check_import", "write_queue"),
    },
)
