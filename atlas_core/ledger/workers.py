"""The workers table: which processes are sending and refreshing, and their heartbeats."""

from __future__ import annotations

from typing import cast

from ..errors import redact
from .clock import db_clock, is_postgres
from .presence import WorkerLock, held_worker_locks
from .rows import WorkerRow
from .store import LedgerCore


class WorkerLedger(LedgerCore):
    """Registering workers and their heartbeats, so orphaned work can be told from live work."""

    def register_worker(
        self, worker_id: str, *, host: str, pid: int, pid_started: str | None = None,
        kind: str | None = None, now: float | None = None, process_scope: str | None = None,
    ) -> None:
        """Record a worker (a process or a thread in one) as alive now (by the ledger's clock)."""
        with self.transaction() as db:
            now = db_clock(db) if now is None else now
            db.execute(
                "INSERT INTO workers (id, host, pid, pid_started, kind, started_at, heartbeat_at,"
                " process_scope) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                " heartbeat_at = excluded.heartbeat_at, stopped_at = NULL",
                [worker_id, host, pid, pid_started, kind, now, now, process_scope],
            )

    def heartbeat(
        self, worker_id: str, *, error: str | None = None, now: float | None = None,
        activity: str | None = None,
    ) -> None:
        """Say a worker is still alive (by the ledger's clock), with its last error (None clears
        nothing) and what it is doing (None keeps the last)."""
        with self.transaction() as db:
            now = db_clock(db) if now is None else now
            db.execute(
                "UPDATE workers SET heartbeat_at = ?, last_error = coalesce(?, last_error),"
                " activity = coalesce(?, activity) WHERE id = ?",
                [now, redact(error) if error else None, redact(activity) if activity else None,
                 worker_id],
            )

    def stop_worker(self, worker_id: str, *, now: float | None = None) -> None:
        """Record that a worker stopped cleanly, and give back its submit leases."""
        with self.transaction() as db:
            now = db_clock(db) if now is None else now
            db.execute("UPDATE workers SET stopped_at = ? WHERE id = ?", [now, worker_id])
            db.execute("DELETE FROM submit_leases WHERE holder = ?", [worker_id])

    def workers(self, *, include_stopped: bool = False) -> list[WorkerRow]:
        """Known workers, most recent heartbeat first."""
        with self.reading() as db:
            return [cast(WorkerRow, dict(r)) for r in db.execute(
                "SELECT * FROM workers WHERE (? OR stopped_at IS NULL) ORDER BY heartbeat_at DESC",
                [int(include_stopped)],
            )]

    def workers_seen(self, *, limit: int = 50) -> tuple[list[WorkerRow], float, set[str] | None]:
        """The workers not stopped, most recent heartbeat first; the ledger's clock now; and on
        PostgreSQL which of them hold their presence lock (None on SQLite, which has none)."""
        with self.reading() as db:
            now = db_clock(db)
            rows = [cast(WorkerRow, dict(r)) for r in db.execute(
                "SELECT * FROM workers WHERE stopped_at IS NULL ORDER BY heartbeat_at DESC"
                " LIMIT ?", [limit],
            )]
            held = held_worker_locks(db, [r["id"] for r in rows]) if is_postgres(db) else None
        return rows, now, held

    def live_workers(self, worker_ids: list[str]) -> set[str] | None:
        """Which of these workers hold their presence lock (PostgreSQL); None on SQLite."""
        with self.reading() as db:
            return held_worker_locks(db, worker_ids) if is_postgres(db) else None

    def hold_worker_lock(self, worker_id: str) -> WorkerLock | None:
        """Take ``worker_id``'s presence lock on a connection of its own (PostgreSQL; None on
        SQLite): held until released, or until the process or its connection dies."""
        pg = getattr(self, "_pg", None)
        if pg is None:
            return None
        lock = WorkerLock(pg.url, pg.label, worker_id, connect_timeout=pg.connect_timeout)
        lock.acquire()
        return lock

    def ledger_clock(self) -> float:
        """Seconds since the epoch by the ledger's clock (the one heartbeats are written with)."""
        with self.reading() as db:
            return db_clock(db)
