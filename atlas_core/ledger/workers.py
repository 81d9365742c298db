"""The workers table: which processes are sending and refreshing, and their heartbeats."""

from __future__ import annotations

from typing import cast

from ..errors import redact
from .rows import WorkerRow
from .store import LedgerCore, now_ts


class WorkerLedger(LedgerCore):
    """Registering workers and their heartbeats, so orphaned work can be told from live work."""

    def register_worker(
        self, worker_id: str, *, host: str, pid: int, pid_started: str | None = None,
        kind: str | None = None, now: float | None = None,
    ) -> None:
        """Record a worker (a process or a thread in one) as alive now."""
        now = now_ts() if now is None else now
        with self.transaction() as db:
            db.execute(
                "INSERT INTO workers (id, host, pid, pid_started, kind, started_at, heartbeat_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
                " heartbeat_at = excluded.heartbeat_at, stopped_at = NULL",
                [worker_id, host, pid, pid_started, kind, now, now],
            )

    def heartbeat(self, worker_id: str, *, error: str | None = None, now: float | None = None) -> None:
        """Say a worker is still alive, and keep its last error (None clears nothing)."""
        now = now_ts() if now is None else now
        with self.transaction() as db:
            db.execute(
                "UPDATE workers SET heartbeat_at = ?, last_error = coalesce(?, last_error)"
                " WHERE id = ?",
                [now, redact(error) if error else error, worker_id],
            )

    def stop_worker(self, worker_id: str, *, now: float | None = None) -> None:
        """Record that a worker stopped cleanly."""
        now = now_ts() if now is None else now
        with self.transaction() as db:
            db.execute("UPDATE workers SET stopped_at = ? WHERE id = ?", [now, worker_id])

    def workers(self, *, include_stopped: bool = False) -> list[WorkerRow]:
        """Known workers, most recent heartbeat first."""
        with self.reading() as db:
            return [cast(WorkerRow, dict(r)) for r in db.execute(
                "SELECT * FROM workers WHERE (? OR stopped_at IS NULL) ORDER BY heartbeat_at DESC",
                [int(include_stopped)],
            )]
