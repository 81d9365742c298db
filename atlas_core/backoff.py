"""The one backoff formula: a delay that doubles per step from ``base`` up to ``cap``.

Retries of a request (client/retrying.py, with jitter on top), chunks put back in the queue
(engine/submitting.py), batch polls without progress (ledger/batches.py) and the worker's pause
after a failed cycle (engine/worker.py) all wait this long; each names its own base and cap.
"""

from __future__ import annotations

# 2**64 times any base worth having is past any cap; it also keeps a huge step from overflowing.
_MAX_DOUBLINGS = 64


def backoff_delay(step: int, base: float, cap: float) -> float:
    """Seconds to wait at ``step`` (0 for the first wait): ``base * 2**step``, at most ``cap``."""
    return min(base * 2.0 ** min(max(step, 0), _MAX_DOUBLINGS), cap)
