"""The ledger's clock for what several processes compare: heartbeats and lease expiry.

Times that decide whether another process is alive must come from one clock. SQLite is a file
on one host, so its clock is that host's; a PostgreSQL ledger is shared by hosts whose clocks
may drift apart, so there the database server's clock decides.
"""

from __future__ import annotations

from typing import Any

from .store import now_ts


def db_clock(db: Any) -> float:
    """Seconds since the epoch by the ledger's clock, read inside the unit of work ``db``."""
    return now_ts()
