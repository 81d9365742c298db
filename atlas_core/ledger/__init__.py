"""The ledger (SQLite, or PostgreSQL when configured): every SQL statement of the project lives in this package.

``Ledger(path)`` opens (and migrates) a file; every method runs in its own short connection, so
one ``Ledger`` is safe to share between threads and several processes can use one file at once.
"""

from __future__ import annotations

from . import states
from .balance import BalanceLedger, UploadBalance, format_balance
from .batches import BatchLedger, BatchProgress, poll_delay
from .chunks import ChunkLedger
from .leases import LeaseLedger
from .queries import QueryLedger
from .records import CellFix, ClaimedChunk, Interpreted, QueuedUpload, RowRecord, UploadRecord
from .reviews import ReviewLedger
from .signals import SignalLedger
from .store import now_ts
from .streams import StreamLedger
from .uploads import UploadLedger
from .workers import WorkerLedger


class Ledger(UploadLedger, ChunkLedger, BatchLedger, QueryLedger, StreamLedger, WorkerLedger,
             LeaseLedger, SignalLedger, BalanceLedger, ReviewLedger):
    """The ledger file and every operation on it."""


__all__ = [
    "BatchProgress",
    "CellFix",
    "ClaimedChunk",
    "Interpreted",
    "Ledger",
    "QueuedUpload",
    "RowRecord",
    "UploadBalance",
    "UploadRecord",
    "format_balance",
    "now_ts",
    "poll_delay",
    "states",
]
