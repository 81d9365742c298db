"""The background Worker: sends queued chunks and refreshes due batches, independent of any page.

One per dashboard server process (started once and cached), or ``python -m atlas_core worker``
for headless use. Several workers may share one ledger: chunks and polls are claimed atomically.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from ..backoff import backoff_delay
from ..errors import AtlasError, AuthError, LedgerError
from ..ledger import now_ts
from .budget import SubmitBudget
from .health import (
    OK,
    PROBE_EVERY,
    PROBE_EVERY_TROUBLED,
    AtlasHealth,
    probe_atlas,
    probe_error,
)
from .identity import (
    HEARTBEAT_INTERVAL,
    Heartbeat,
    WorkerIdentity,
    recover_orphans,
    release_own_claims,
)
from .refreshing import RefreshSummary, refresh_batches
from .runtime import Runtime
from .submitting import SendSummary, send_queued
from .wakeups import SignalWatcher

log = logging.getLogger(__name__)

IDLE_WAIT = 5.0  # seconds between cycles when nothing is due
ERROR_WAIT = 30.0  # seconds to wait after a cycle failed (Atlas down, bad credentials); doubles
ERROR_WAIT_CAP = 300.0  # ...up to this, so a long outage is still tried every five minutes

RUNNING, PAUSED, RESTARTING = "running", "paused", "restarting"
CREDENTIALS_REFUSED = "Atlas refused the credentials"


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
    state: str = RUNNING  # running | paused (Atlas refused or is down) | restarting (a bug)
    reason: str | None = None  # why it is paused or restarting, one plain sentence
    next_try_at: float | None = None  # epoch seconds of the next cycle when paused or restarting
    atlas: AtlasHealth | None = None  # the last token probe (None: not asked yet)

    def describe(self) -> str:
        """One plain line (no markup) on the worker, e.g. for the dashboard's sidebar."""
        if not self.alive:
            return "Background worker: stopped; it starts again when this page reloads."
        if self.state == RUNNING and self.atlas is not None and self.atlas.troubled:
            return "Background worker: running, waiting for Atlas; queued work is sent once it answers."
        if self.state == RUNNING:
            return "Background worker: running (work continues if you close this tab)."
        when = ""
        if self.next_try_at is not None:
            when = f"; next try at {time.strftime('%H:%M:%S', time.localtime(self.next_try_at))}"
        return f"Background worker: {self.state}: {self.reason}{when}. Nothing queued is lost."


class Worker:
    """A thread that keeps submitting and refreshing until stopped, whatever goes wrong in a cycle."""

    def __init__(self, runtime: Runtime, *, idle_wait: float = IDLE_WAIT,
                 error_wait: float = ERROR_WAIT, error_wait_cap: float = ERROR_WAIT_CAP) -> None:
        self.runtime = runtime
        self.identity = WorkerIdentity(kind="worker")
        self.idle_wait, self.error_wait = idle_wait, error_wait
        self.error_wait_cap = max(error_wait_cap, error_wait)
        self._stop = threading.Event()
        self._wake = threading.Event()
        # Each cycle's send lanes get their own stop: a lane that fails stops its cycle, not the worker.
        self._cycle_stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._started_at: float | None = None
        self._last_cycle_at: float | None = None
        self._cycles = self._sent = self._polled = 0
        self._last_error: str | None = None
        self._force_refresh = False
        self._failures = 0  # cycles failed in a row, for the backoff
        self._claims_to_release = False  # a cycle ended on the ledger failing (see run_once)
        self._reason: str | None = None
        self._next_try_at: float | None = None
        self._state = RUNNING
        self._health: AtlasHealth | None = None
        self._probe_due = 0.0  # time.monotonic() of the next token probe: at once on start
        # Issue 13: every worker on the ledger shares ATLAS_MAX_IN_FLIGHT slots for its sends.
        self.budget = SubmitBudget(runtime.ledger, self.identity.worker_id,
                                   runtime.settings.max_in_flight)
        self._activity = "starting"  # what the sidebars of every dashboard show it doing
        self._watcher: SignalWatcher | None = None

    def start(self) -> Worker:
        """Start the thread (idempotent, and starts a dead one again); returns self."""
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
        self._cycle_stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def wake(self) -> None:
        """Start the next cycle now (after a page queued work); a pause keeps its schedule."""
        self._wake.set()

    def refresh_now(self) -> None:
        """Poll every unfinished batch in the next cycle, ignoring the schedule, and start it now."""
        self._force_refresh = True
        self._wake.set()

    def announce(self, signal: str) -> None:
        """Signal every worker on the ledger ("refresh" or "work"), this one at once.

        This worker's watcher takes the signal as seen, so it does not act on it a second time.
        """
        try:
            serial = self.runtime.ledger.send_signal(signal)
        except Exception:  # a busy ledger: this worker still acts; the others poll as usual
            log.warning("could not signal the other workers (%s)", signal, exc_info=True)
        else:
            watcher = self._watcher
            if watcher is not None:
                watcher.absorb(signal, serial)
        if signal == "refresh":
            self.refresh_now()
        else:
            self.wake()

    def activity(self) -> str:
        """What the worker is doing, in a few words (the ledger keeps it for every sidebar)."""
        if self._state != RUNNING:
            return f"{self._state}: {self._reason}" if self._reason else self._state
        return self._activity

    @property
    def alive(self) -> bool:
        """True while the thread runs."""
        return self._thread is not None and self._thread.is_alive()

    @property
    def last_error(self) -> str | None:
        """The last cycle's error as a plain message, or None when it went well."""
        return self._last_error

    @property
    def state(self) -> str:
        """running, paused (Atlas refused the credentials or is down) or restarting (after a bug)."""
        return self._state

    def status(self) -> WorkerStatus:
        """A snapshot for the sidebar."""
        return WorkerStatus(self.alive, self.identity.worker_id, self._started_at,
                            self._last_cycle_at, self._cycles, self._sent, self._polled,
                            self._last_error, self._state, self._reason, self._next_try_at,
                            self._health)

    @property
    def atlas(self) -> AtlasHealth | None:
        """The last token probe, or None before the first."""
        return self._health

    def probe(self) -> AtlasHealth:
        """Ask Atlas for a token now, keep the answer for the status (and the ledger), return it."""
        settings = self.runtime.settings
        health = probe_atlas(self.runtime.client, settings.connect_timeout + settings.read_timeout)
        self._note_health(health)
        return health

    def _note_health(self, health: AtlasHealth) -> None:
        self._health = health
        every = PROBE_EVERY if health.ok else PROBE_EVERY_TROUBLED
        self._probe_due = time.monotonic() + every
        if health.troubled:  # the workers table keeps it for other processes (and the CLI)
            try:
                self.runtime.ledger.heartbeat(self.identity.worker_id,
                                              error=f"{health.headline()}: {health.reason}")
            except Exception as exc:  # a LedgerError says it all in words: no traceback for it
                log.warning("could not record Atlas's state (%s)", exc,
                            exc_info=not isinstance(exc, LedgerError))

    def run_once(self, *, force_refresh: bool = False) -> tuple[SendSummary, RefreshSummary]:
        """One cycle: recover orphans, send what is queued, poll what is due."""
        ledger, settings = self.runtime.ledger, self.runtime.settings
        if self._claims_to_release:  # between cycles: none of this worker's lanes is sending
            release_own_claims(ledger, self.identity.worker_id)
            self._claims_to_release = False
        recover_orphans(ledger)
        self._cycle_stop = cycle_stop = threading.Event()
        if self._stop.is_set():  # stop() came before this cycle's event existed
            cycle_stop.set()
        self._activity = "sending"
        sent = send_queued(
            ledger, self.runtime.client, worker_id=self.identity.worker_id,
            concurrency=settings.submit_concurrency, backoff_base=settings.backoff_base,
            backoff_cap=settings.backoff_cap, stop=cycle_stop, budget=self.budget,
        )
        self._activity = "refreshing"
        refreshed = refresh_batches(ledger, self.runtime.client, force=force_refresh,
                                    concurrency=settings.refresh_concurrency)
        self._activity = "idle"
        self._cycles += 1
        self._sent += sent.documents_sent
        self._polled += refreshed.polled
        self._last_cycle_at = now_ts()
        return sent, refreshed

    def run_until_stopped(self) -> None:
        """Run cycles in this thread until stop() (used by ``python -m atlas_core worker``)."""
        # The stop flag is not cleared here: a SIGTERM that came before this call still counts.
        self._started_at = self._started_at or now_ts()
        self._run()

    def _next_wait(self) -> float:
        ledger = self.runtime.ledger
        dues = [d for d in (ledger.next_poll_due(), ledger.queued_work()["next_due"]) if d is not None]
        wait = min(dues) - now_ts() if dues else self.idle_wait
        return min(max(wait, 0.05), self.idle_wait)

    def _run(self) -> None:
        # Only stop() ends this loop: a failure outside a cycle (the heartbeat's registration on a
        # busy ledger, say) restarts it with the same backoff as a failed cycle.
        while not self._stop.is_set():
            try:
                with Heartbeat(self.runtime.ledger, self.identity, interval=HEARTBEAT_INTERVAL,
                               activity=self.activity), \
                        SignalWatcher(self.runtime.ledger, on_refresh=self.refresh_now,
                                      on_work=self.wake) as self._watcher:
                    self._cycles_until_stopped()
            except Exception as exc:
                self._stop.wait(self._crashed(exc))
        log.info("worker %s stopped", self.identity.worker_id)

    def _cycles_until_stopped(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            force, self._force_refresh = self._force_refresh, False
            try:
                if time.monotonic() >= self._probe_due:
                    self.probe()  # on start, then on a schedule: outages show while idle too
                sent, _ = self.run_once(force_refresh=force)
                wait = self._next_wait()
                self._recovered()
                if sent.chunks_sent and not sent.requeued:
                    # Atlas just took requests: as good as a probe, and no token minted for it.
                    self._note_health(AtlasHealth(OK, None, now_ts()))
                elif sent.requeued and self._health is not None and self._health.ok:
                    # A request was put back (Atlas busy or unreachable): ask again soon.
                    self._probe_due = min(self._probe_due, time.monotonic() + PROBE_EVERY_TROUBLED)
            except AuthError as exc:
                self._note_health(probe_error(exc))
                wait = self._paused(exc, CREDENTIALS_REFUSED)
            except AtlasError as exc:
                self._note_health(probe_error(exc))
                wait = self._paused(exc, exc.message.rstrip("."))
                if isinstance(exc, LedgerError):
                    # The ledger failed mid-cycle (a restart, a cut connection): a chunk whose
                    # answer could not be recorded may still say 'sending', and recover_orphans
                    # never takes a live worker's chunks; the next cycle marks them uncertain.
                    self._claims_to_release = True
            except Exception as exc:  # a bug in a cycle or a send lane: the worker outlives it
                wait = self._crashed(exc)
            if self._state == RUNNING:
                self._wake.wait(wait)
            else:  # keep the schedule shown in the sidebar: only stop() cuts a pause short
                self._stop.wait(wait)

    def _recovered(self) -> None:
        if self._state != RUNNING:
            log.info("worker %s running again", self.identity.worker_id)
        self._failures, self._last_error = 0, None
        self._state, self._reason, self._next_try_at = RUNNING, None, None

    def _backoff(self) -> float:
        self._failures += 1
        return backoff_delay(self._failures - 1, self.error_wait, self.error_wait_cap)

    def _paused(self, exc: AtlasError, reason: str) -> float:
        wait = self._backoff()
        self._set_trouble(PAUSED, reason, exc.user_message(), wait)
        log.warning("worker paused for %.1f s: %s", wait, exc.message)
        return wait

    def _crashed(self, exc: Exception) -> float:
        # The traceback goes to the log only; the status says what happens next in plain words.
        log.error("worker cycle failed with an internal error; restarting", exc_info=exc)
        try:
            release_own_claims(self.runtime.ledger, self.identity.worker_id)
        except Exception:
            log.warning("could not release this worker's chunks; the next cycle tries again",
                        exc_info=True)
        wait = self._backoff()
        reason = f"an internal error ({type(exc).__name__}) stopped the last cycle; see the server log"
        self._set_trouble(RESTARTING, reason, f"Internal error ({type(exc).__name__}); restarting.",
                          wait)
        return wait

    def _set_trouble(self, state: str, reason: str, message: str, wait: float) -> None:
        self._last_error = message
        self._state, self._reason, self._next_try_at = state, reason, now_ts() + wait
        try:
            self.runtime.ledger.heartbeat(self.identity.worker_id, error=message,
                                          activity=self.activity())
        except Exception as exc:  # a LedgerError says it all in words: no traceback for it
            log.warning("could not record the worker's error (%s)", exc,
                        exc_info=not isinstance(exc, LedgerError))
