"""The workers the ledger knows, in plain words: who is alive, since when, and what it does.

A dashboard replica without its own worker (ATLAS_EMBEDDED_WORKER=0) shows these in its sidebar,
so an analyst sees that work is being done, and by whom, without a shell on the servers.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..ledger import Ledger
from .identity import HEARTBEAT_INTERVAL

STALE_AFTER = 6 * HEARTBEAT_INTERVAL  # seconds without a heartbeat before a worker shows as stale

KINDS = {
    "worker": "worker service",  # python -m atlas_core worker
    "dashboard": "dashboard's worker",  # the thread of a dashboard with ATLAS_EMBEDDED_WORKER on
    "cli": "command-line job",  # submit, resume... sending on their own
}


@dataclass(frozen=True)
class WorkerView:
    """One worker as a sidebar shows it."""

    worker_id: str
    kind: str
    host: str
    alive: bool
    heartbeat_age: float  # seconds since its last heartbeat, by the ledger's clock
    activity: str | None
    last_error: str | None

    def describe(self) -> str:
        """One plain line, e.g. "worker 3f2a91c0 on app-2: alive, sending; heard from 2 s ago"."""
        state = "alive" if self.alive else "stale (no heartbeat; it may have stopped)"
        doing = f", {self.activity}" if self.alive and self.activity else ""
        line = (f"{KINDS.get(self.kind, self.kind)} {self.worker_id[:8]} on {self.host}: {state}"
                f"{doing}; heard from {_age(self.heartbeat_age)} ago")
        # The table keeps a worker's last error after it recovered: shown only while in trouble.
        if self.last_error and (not self.alive or _troubled(self.activity)):
            line += f". Last error: {self.last_error}"
        return line


def known_workers(ledger: Ledger, *, stale_after: float = STALE_AFTER) -> list[WorkerView]:
    """The workers the ledger knows that have not stopped, alive ones first.

    On PostgreSQL a worker is alive while it holds its presence lock; on SQLite while its
    heartbeat (by the ledger's clock) is recent.
    """
    rows, now, held = ledger.workers_seen()
    views = [
        WorkerView(
            worker_id=str(r["id"]), kind=str(r["kind"] or "worker"), host=str(r["host"]),
            alive=(now - float(r["heartbeat_at"]) <= stale_after) if held is None
            else str(r["id"]) in held,
            heartbeat_age=max(now - float(r["heartbeat_at"]), 0.0),
            activity=r.get("activity"), last_error=r.get("last_error"),
        )
        for r in rows
    ]
    return sorted(views, key=lambda v: (not v.alive, v.heartbeat_age))


def _troubled(activity: str | None) -> bool:
    return bool(activity) and str(activity).startswith(("paused", "restarting"))


def _age(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
