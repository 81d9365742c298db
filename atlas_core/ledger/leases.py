"""The shared submit budget: leases on numbered slots, one per request in flight to Atlas.

Every worker on the ledger takes a lease before it sends and gives it back after, so the number
of requests in flight across all of them never exceeds the budget. A lease expires unless its
holder renews it (its heartbeat does), so the slots of a killed worker come back by themselves.
The statements are in the subset SQLite and PostgreSQL both accept: the slot is the primary key,
and ``ON CONFLICT DO NOTHING`` makes two workers racing for one slot end with one holder.
"""

from __future__ import annotations

from .clock import db_clock
from .store import LedgerCore

LEASE_TTL = 30.0  # seconds a lease lives without renewal (a heartbeat renews it every 5 s)


class LeaseLedger(LedgerCore):
    """Taking, renewing and giving back submit leases."""

    def leases_in_use(self) -> int:
        """How many unexpired leases are held now (a cheap read before trying to take one)."""
        with self.reading() as db:
            now = db_clock(db)
            return int(db.execute(
                "SELECT count(*) FROM submit_leases WHERE expires_at >= ?", [now]
            ).fetchone()[0])

    def acquire_lease(self, holder: str, budget: int, *, ttl: float = LEASE_TTL) -> int | None:
        """Take a free slot of ``budget`` for ``holder``; its number, or None when all are held."""
        if self.leases_in_use() >= budget:  # a read: waiting lanes do not queue for the write lock
            return None
        with self.transaction() as db:
            now = db_clock(db)
            db.execute("DELETE FROM submit_leases WHERE expires_at < ?", [now])
            # Every lease counts, even on slots above this budget: a process configured with a
            # larger budget must not let this one exceed its own.
            taken = {int(r[0]) for r in db.execute("SELECT slot FROM submit_leases").fetchall()}
            if len(taken) >= budget:
                return None
            for slot in range(1, budget + 1):
                if slot in taken:
                    continue
                inserted = db.execute(
                    "INSERT INTO submit_leases (slot, holder, acquired_at, expires_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (slot) DO NOTHING",
                    [slot, holder, now, now + ttl],
                ).rowcount
                if inserted:  # 0: another worker took this slot since we looked
                    return slot
        return None

    def renew_leases(self, holder: str, *, ttl: float = LEASE_TTL) -> int:
        """Push the expiry of every lease ``holder`` holds ``ttl`` seconds on; how many it holds."""
        with self.transaction() as db:
            now = db_clock(db)
            return int(db.execute(
                "UPDATE submit_leases SET expires_at = ? WHERE holder = ?", [now + ttl, holder]
            ).rowcount)

    def release_lease(self, holder: str, slot: int) -> None:
        """Give a slot back (nothing happens when it expired and someone else holds it now)."""
        with self.transaction() as db:
            db.execute("DELETE FROM submit_leases WHERE slot = ? AND holder = ?", [slot, holder])

    def release_all_leases(self, holder: str) -> int:
        """Give back every lease of ``holder`` (a worker stopping, or found gone); how many."""
        with self.transaction() as db:
            return int(db.execute(
                "DELETE FROM submit_leases WHERE holder = ?", [holder]
            ).rowcount)
