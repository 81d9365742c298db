"""Worker presence on PostgreSQL: a session advisory lock per worker, held while it lives.

Host names and pids say nothing across containers; a lock held by a database session does: it
goes when the worker's process dies, its connection is cut, or it stops. ``WorkerLock`` holds one
on a connection of its own (the ledger's connections come and go with units of work), and
``held_worker_locks`` tells which workers hold theirs. On SQLite there is no such lock: the
engine judges workers by pid (same boot and pid namespace) and heartbeat instead.
"""

from __future__ import annotations

import logging
import threading
import zlib
from typing import Any

from ..errors import LedgerError

log = logging.getLogger(__name__)

# The first key of the two-key advisory locks (classid in pg_locks): "atlas workers".
WORKER_LOCK_SPACE = 0x61746C77


def worker_lock_key(worker_id: str) -> int:
    """The second key (objid) of a worker's lock: a signed 32-bit number from its id."""
    key = zlib.crc32(worker_id.encode("utf-8"))
    return key - (1 << 32) if key >= 1 << 31 else key


class WorkerLock:
    """A session advisory lock for one worker on its own PostgreSQL connection."""

    def __init__(self, url: str, label: str, worker_id: str, *, connect_timeout: float = 10.0):
        self.url, self.label, self.worker_id = url, label, worker_id
        self.connect_timeout = connect_timeout
        self._conn: Any = None
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Connect and take the lock (at once: a worker id is this worker's alone)."""
        import psycopg

        with self._lock:
            self._close()
            try:
                conn = psycopg.connect(self.url, autocommit=True,
                                       connect_timeout=max(1, int(self.connect_timeout)),
                                       application_name=f"atlas-worker-{self.worker_id}")
                row = conn.execute("SELECT pg_try_advisory_lock(%s, %s)",
                                   (WORKER_LOCK_SPACE, worker_lock_key(self.worker_id))).fetchone()
                got = bool(row and row[0])
            except psycopg.Error as exc:
                raise LedgerError(f"The ledger database at {self.label} could not be reached"
                                  f" to register this worker ({type(exc).__name__}).") from None
            if not got:
                conn.close()
                raise LedgerError(f"Another process holds worker {self.worker_id}'s lock.")
            self._conn = conn

    def ensure(self) -> bool:
        """Check the lock's connection; take the lock again when it was lost. True if it was."""
        with self._lock:
            conn = self._conn
            try:
                if conn is not None and not conn.closed:
                    conn.execute("SELECT 1")
                    return False
            except Exception:  # noqa: BLE001 - a cut connection: taken again below
                pass
        log.warning("worker %s lost its presence lock (connection cut); taking it again",
                    self.worker_id)
        self.acquire()
        return True

    def release(self) -> None:
        """Give the lock back by closing its connection."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - a broken connection is closed either way
                pass


def held_worker_locks(db: Any, worker_ids: list[str]) -> set[str]:
    """Which of ``worker_ids`` hold their presence lock now (PostgreSQL only)."""
    if not worker_ids:
        return set()
    held = {int(r[0]) for r in db.execute(
        "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND objsubid = 2 AND classid::bigint = ?", [WORKER_LOCK_SPACE],
    ).fetchall()}
    return {w for w in worker_ids if worker_lock_key(w) & 0xFFFFFFFF in held}
