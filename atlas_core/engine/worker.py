"""The background Worker: sends queued chunks and refreshes due batches, independent of any page.

One per dashboard server process (started once and cached), or ``python -m atlas_core worker``
for headless use. Several workers may share one ledger: chunks and polls are claimed atomically.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from ..errors import AtlasError
from ..ledger import now_ts
from .identity import HEARTBEAT_INTERVAL, Heartbeat, WorkerIdentity, recover_orphans
from .refreshing import RefreshSummary, refresh_batches
from .runtime import Runtime
from .submitting import SendSummary, send_queued

log = logging.getLogger(__name__)

IDLE_WAIT = 5.0  # seconds between cycles when nothing is due
ERROR_WAIT = 30.0  # seconds to wait after a cycle failed (Atlas down, bad credentials)


@dataclass(frozen=True)
class WorkerStatus:
    """What a sidebar shows about the worker: cheap to read, plain words."""

    alive: bool
    worker_id: str
    started_at: float | None
    last_cycle_at: float | None
    cycles: int
    documents_sent: int
    batches_polled: int
    last_error: str | None


class Worker:
    """A thread that keeps submitting and refreshing until stopped."""

    def __init__(self, runtime: Runtime, *, idle_wait: float = IDLE_WAIT,
                 error_wait: float = ERROR_WAIT) -> None:
        self.runtime = runtime
        self.identity = WorkerIdentity(kind="worker")
        self.idle_wait, self.error_wait = idle_wait, error_wait
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._started_at: float | None = None
        self._last_cycle_at: float | None = None
        self._cycles = self._sent = self._polled = 0
        self._last_error: str | None = None
        self._force_refresh = False

    def start(self) -> Worker:
        """Start the thread (idempotent); returns self."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return self
            self._stop.clear()
            self._started_at = now_ts()
            self._thread = threading.Thread(target=self._run, name="atlas-worker", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the thread to finish its current step and wait for it (idempotent)."""
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def wake(self) -> None:
        """Start the next cycle now (after a page queued work)."""
        self._wake.set()

    def refresh_now(self) -> None:
        """Poll every unfinished batch in the next cycle, ignoring the schedule, and start it now."""
        self._force_refresh = True
        self._wake.set()

    @property
    def alive(self) -> bool:
        """True while the thread runs."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def last_error(self) -> str | None:
        """The last cycle's error as a plain message, or None when it went well."""
        return self._last_error

    def status(self) -> WorkerStatus:
        """A snapshot for the sidebar."""
        return WorkerStatus(self.alive, self.identity.worker_id, self._started_at,
                            self._last_cycle_at, self._cycles, self._sent, self._polled,
                            self._last_error)

    def run_once(self, *, force_refresh: bool = False) -> tuple[SendSummary, RefreshSummary]:
        """One cycle: recover orphans, send what is queued, poll what is due."""
        ledger, settings = self.runtime.ledger, self.runtime.settings
        recover_orphans(ledger)
        sent = send_queued(
            ledger, self.runtime.client, worker_id=self.identity.worker_id,
            concurrency=settings.submit_concurrency, backoff_base=settings.backoff_base,
            backoff_cap=settings.backoff_cap, stop=self._stop,
        )
        refreshed = refresh_batches(ledger, self.runtime.client, force=force_refresh,
                                    concurrency=settings.refresh_concurrency)
        self._cycles += 1
        self._sent += sent.documents_sent
        self._polled += refreshed.polled
        self._last_cycle_at = now_ts()
        return sent, refreshed

    def run_until_stopped(self) -> None:
        """Run cycles in this thread until stop() (used by ``python -m atlas_core worker``)."""
        self._stop.clear()
        self._started_at = self._started_at or now_ts()
        self._run()

    def _next_wait(self) -> float:
        ledger = self.runtime.ledger
        dues = [d for d in (ledger.next_poll_due(), ledger.queued_work()["next_due"]) if d is not None]
        wait = min(dues) - now_ts() if dues else self.idle_wait
        return min(max(wait, 0.05), self.idle_wait)

    def _run(self) -> None:
        with Heartbeat(self.runtime.ledger, self.identity, interval=HEARTBEAT_INTERVAL):
            while not self._stop.is_set():
                self._wake.clear()
                wait = self.idle_wait
                force, self._force_refresh = self._force_refresh, False
                try:
                    self.run_once(force_refresh=force)
                    self._last_error = None
                    wait = self._next_wait()
                except AtlasError as exc:
                    self._last_error = exc.user_message()
                    wait = self.error_wait
                    log.warning("worker cycle failed: %s", exc.message)
                except Exception as exc:  # the worker must outlive any one bad cycle
                    self._last_error = f"Unexpected error: {exc}"
                    wait = self.error_wait
                    log.exception("worker cycle failed")
                if self._last_error:
                    try:
                        self.runtime.ledger.heartbeat(self.identity.worker_id, error=self._last_error)
                    except Exception:
                        log.warning("could not record the worker's error", exc_info=True)
                self._wake.wait(wait)
        log.info("worker %s stopped", self.identity.worker_id)

