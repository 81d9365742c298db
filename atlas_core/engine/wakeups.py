"""Wake-ups across processes: a worker acts on "refresh now" and new work signalled anywhere.

A dashboard replica or a CLI command bumps a counter in the ledger (ledger/signals.py); each
worker's watcher looks at the counters every ``poll`` seconds (one small read), and on PostgreSQL
as soon as a NOTIFY arrives, and when one moved asks its worker to refresh or to start its next
cycle at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from ..errors import LedgerError
from ..ledger import Ledger
from ..ledger.signals import REFRESH, WORK

log = logging.getLogger(__name__)

SIGNAL_POLL = 1.0  # seconds between looks at the ledger's signals


class SignalWatcher:
    """A daemon thread calling ``on_refresh`` or ``on_work`` when another process signalled."""

    def __init__(self, ledger: Ledger, *, on_refresh: Callable[[], None],
                 on_work: Callable[[], None], poll: float = SIGNAL_POLL) -> None:
        self.ledger, self.poll = ledger, poll
        self.on_refresh, self.on_work = on_refresh, on_work
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seen: dict[str, int] | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> SignalWatcher:
        try:
            seen = self.ledger.signal_serials()  # what came before this worker started
            with self._lock:
                self._seen = seen
        except Exception as exc:  # a LedgerError says it all in words: no traceback for it
            log.warning("could not read the ledger's signals; watching from the next look",
                        exc_info=not isinstance(exc, LedgerError))
        self._thread = threading.Thread(target=self._run, name="atlas-signals", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def absorb(self, name: str, serial: int) -> None:
        """Take signal ``name`` up to ``serial`` as seen (this worker sent it and acts on it)."""
        with self._lock:
            if self._seen is not None:
                self._seen[name] = max(self._seen.get(name, 0), serial)

    def look(self) -> None:
        """Read the counters once and call back for each that moved since the last look."""
        serials = self.ledger.signal_serials()
        with self._lock:
            seen, self._seen = self._seen, dict(serials)
            if seen is not None:  # a signal absorbed after this read stays absorbed
                for name, serial in seen.items():
                    self._seen[name] = max(self._seen.get(name, 0), serial)
        if seen is None:
            return
        if serials.get(REFRESH, 0) > seen.get(REFRESH, 0):
            self.on_refresh()
        if serials.get(WORK, 0) > seen.get(WORK, 0):
            self.on_work()

    def _run(self) -> None:
        # PostgreSQL: LISTEN wakes the watcher at once; the counters are still read every poll,
        # as a notification sent while the connection was down is lost.
        listener = self.ledger.signal_listener()
        try:
            while not self._stop.is_set():
                if listener is not None:
                    listener.wait(self.poll)
                elif self._stop.wait(self.poll):
                    break
                try:
                    self.look()
                except Exception as exc:  # a busy ledger must not end the watching; the next look retries
                    log.warning("could not read the ledger's signals (%s)", exc,
                                exc_info=not isinstance(exc, LedgerError))
        finally:
            if listener is not None:
                listener.close()
