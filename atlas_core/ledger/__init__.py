"""The SQLite ledger: every SQL statement of the project lives in this package.

``Ledger(path)`` opens (and migrates) a file; every method runs in its own short connection, so
one ``Ledger`` is safe to share between threads and several processes can use one file at once.
"""

from __future__ import annotations

from . import states
from .batches import BatchLedger, BatchProgress, poll_delay
from .chunks import ChunkLedger
from .queries import QueryLedger
from .records import ClaimedChunk, Interpreted, QueuedUpload, RowRecord, UploadRecord
from .reviews import ReviewLedger
from .store import now_ts
from .streams import StreamLedger
from .uploads import UploadLedger
from .workers import WorkerLedger


class Ledger(UploadLedger, ChunkLedger, BatchLedger, QueryLedger, StreamLedger, WorkerLedger, ReviewLedger):
    """The ledger file and every operation on it."""


__all__ = [
    "BatchProgress",
    "ClaimedChunk",
    "Interpreted",
    "Ledger",
    "QueuedUpload",
    "RowRecord",
    "UploadRecord",
    "now_ts",
    "poll_delay",
    "states",
]
