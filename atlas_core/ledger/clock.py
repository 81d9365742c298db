"""The ledger's clock for what several processes compare: heartbeats and lease expiry.

Times that decide whether another process is alive must come from one clock. SQLite is a file
on one host, so its clock is that host's; a PostgreSQL ledger is shared by hosts whose clocks
may drift apart, so there the database server's clock decides.
"""

from __future__ import annotations

from typing import Any

from .store import now_ts


def is_postgres(db: Any) -> bool:
    """True when the unit of work ``db`` runs on PostgreSQL (pgstore.PgDatabase)."""
    return getattr(db, "dialect", "sqlite") == "postgresql"


def db_clock(db: Any) -> float:
    """Seconds since the epoch by the ledger's clock, read inside the unit of work ``db``."""
    if is_postgres(db):
        # clock_timestamp(), not now(): now() is the transaction's start, which a lock wait delays.
        return float(db.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()[0])
    return now_ts()
