"""Who is doing the work: a worker id per process or thread, its heartbeat, and finding orphans.

A chunk in state 'sending' belongs to the worker that claimed it. When that worker's process is
gone (same boot and pid namespace and its pid is not alive, or alive but a different process, or
no heartbeat for a while by the ledger's clock), whatever it was sending is marked uncertain: it
may or may not have reached Atlas, so it is never resent without the user's say. Containers share
host names and pids, so a pid is only checked in the namespace it was registered from.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import LedgerError
from ..ledger import Ledger
from ..ledger.presence import WorkerLock

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL = 5.0  # seconds between heartbeats of a live worker
HEARTBEAT_TIMEOUT = 120.0  # a worker silent this long is gone, whatever its host says


def _pid_started(pid: int) -> str | None:
    # Field 22 of /proc/<pid>/stat is the start time: it tells a reused pid from the original.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as handle:
            return handle.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def process_scope() -> str | None:
    """Where this process's pid means something: the kernel's boot id and the pid namespace.

    Containers can share a host name (and every one has a pid 1): a pid is checked only for a
    worker registered in this same scope; other workers are judged by their heartbeat.
    """
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            boot = handle.read().strip()
        return f"{boot}/{os.readlink('/proc/self/ns/pid')}"
    except OSError:  # not Linux: the host name alone decides, as before
        return None


def process_alive(pid: int, pid_started: str | None = None) -> bool:
    """True when a process with this pid runs on this host (and is the same one, when known)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if pid_started is not None:
        current = _pid_started(pid)
        return current is None or current == pid_started
    return True


@dataclass
class WorkerIdentity:
    """This process's worker id, host and pid, registered in the ledger's workers table."""

    kind: str = "worker"
    worker_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    pid_started: str | None = field(default_factory=lambda: _pid_started(os.getpid()))
    scope: str | None = field(default_factory=process_scope)

    def register(self, ledger: Ledger) -> None:
        """Record this worker as alive in the ledger."""
        ledger.register_worker(
            self.worker_id, host=self.host, pid=self.pid, pid_started=self.pid_started,
            kind=self.kind, process_scope=self.scope,
        )


class Heartbeat:
    """A daemon thread that keeps a worker's heartbeat (and its submit leases) fresh while some
    work runs; ``activity`` says what the worker is doing, for the dashboards' sidebars."""

    def __init__(self, ledger: Ledger, identity: WorkerIdentity, interval: float = HEARTBEAT_INTERVAL,
                 activity: Callable[[], str | None] | None = None):
        self.ledger, self.identity, self.interval = ledger, identity, interval
        self.activity = activity
        self._presence: WorkerLock | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        # PostgreSQL: the presence lock first, so no one sees this worker registered without it.
        self._presence = self.ledger.hold_worker_lock(self.identity.worker_id)
        try:
            self.identity.register(self.ledger)
        except BaseException:
            if self._presence is not None:
                self._presence.release()
            raise
        self._thread = threading.Thread(target=self._run, name="atlas-heartbeat", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.ledger.stop_worker(self.identity.worker_id)
        finally:
            if self._presence is not None:
                self._presence.release()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                if self._presence is not None:
                    self._presence.ensure()  # a cut connection (a restart) loses the lock
                doing = self.activity() if self.activity is not None else None
                self.ledger.heartbeat(self.identity.worker_id, activity=doing)
                # A lease lives LEASE_TTL unless renewed: a killed worker's slots come back.
                self.ledger.renew_leases(self.identity.worker_id)
            except Exception as exc:  # a busy ledger must not kill the heartbeat; the next beat retries
                log.warning("heartbeat failed (%s)", exc, exc_info=not isinstance(exc, LedgerError))


def recover_orphans(
    ledger: Ledger, *, timeout: float = HEARTBEAT_TIMEOUT, now: float | None = None,
    host: str | None = None,
) -> int:
    """Mark chunks in flight whose worker is gone as uncertain; return how many."""
    now = ledger.ledger_clock() if now is None else now  # the clock heartbeats are written by
    host = socket.gethostname() if host is None else host
    here = process_scope()
    orphans = []
    sending = ledger.sending_chunks()
    # PostgreSQL: a worker is alive while it holds its presence lock, wherever it runs.
    held = ledger.live_workers(sorted({str(c["claimed_by"]) for c in sending if c["claimed_by"]}))
    for chunk in sending:
        # A pid is checked only where it means something: this boot and pid namespace (a worker
        # registered without a scope, by an older version, by its host name as before).
        scope = chunk.get("process_scope")
        local = scope == here if scope is not None and here is not None else chunk["host"] == host
        # host and pid are NULL together (the claimer has no workers row): nobody can be sending it
        if chunk["host"] is None or chunk["pid"] is None:
            gone = True
        elif chunk["stopped_at"] is not None:
            gone = True
        elif held is not None and chunk["claimed_by"] not in held:
            gone = True
        elif held is None and local and not process_alive(chunk["pid"], chunk["pid_started"]):
            gone = True
        else:
            gone = (chunk["heartbeat_at"] or 0) < now - timeout
        if gone:
            orphans.append((chunk["chunk_id"], chunk["claimed_by"]))
    count = ledger.mark_orphans_uncertain(orphans, now=now) if orphans else 0
    if count:
        log.warning("%d chunk(s) were in flight when their process stopped; marked uncertain", count)
    return count


def release_own_claims(ledger: Ledger, worker_id: str, *, now: float | None = None) -> int:
    """Mark chunks still 'sending' under this worker's id as uncertain; call only between cycles.

    After a cycle ended by a bug, none of its lanes is sending any more, yet a chunk it claimed may
    still say 'sending' (the answer may or may not have reached Atlas), and recover_orphans never
    takes a live worker's chunks: without this they would stay 'sending' for ever.
    """
    mine = [(c["chunk_id"], c["claimed_by"]) for c in ledger.sending_chunks()
            if c["claimed_by"] == worker_id]
    count = ledger.mark_orphans_uncertain(mine, now=now) if mine else 0
    if count:
        log.warning("%d chunk(s) left 'sending' by a cycle an internal error stopped; marked "
                    "uncertain", count)
    return count
