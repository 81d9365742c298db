"""The shared submit budget on the engine's side: a lane holds a lease while it sends.

``ATLAS_MAX_IN_FLIGHT`` slots are shared by every worker on the ledger (ledger/leases.py). A
lane takes a slot before it claims a chunk (a chunk claimed while waiting would turn uncertain in
a crash without ever having left), keeps it while it sends one chunk after another, and gives it
back when its round ends, so requests in flight to Atlas never exceed the budget, however many
workers run.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..ledger import Ledger
from ..ledger.leases import LEASE_TTL

log = logging.getLogger(__name__)

SLOT_POLL = 0.25  # seconds between looks for a free slot while every slot is held


class SubmitBudget:
    """The submit leases of one worker (``holder``) over a budget of ``size`` slots."""

    def __init__(self, ledger: Ledger, holder: str, size: int, *, ttl: float = LEASE_TTL) -> None:
        if size < 1:
            raise ValueError("a submit budget needs at least one slot")
        self.ledger, self.holder, self.size, self.ttl = ledger, holder, size, ttl
        self.peak_waiters = 0  # lanes of this worker seen waiting at once (for logs and tests)
        self._waiting = 0
        self._lock = threading.Lock()
        # Slots whose give-back failed (the ledger unreachable for a moment). The heartbeat renews
        # every lease of this holder, so such a slot would never expire while the worker lives:
        # it is given back at the next look for a slot instead (issue 13 soak: a PostgreSQL
        # restart leaked every slot and all workers waited for ever).
        self._unreleased: set[int] = set()

    @contextmanager
    def slot(self, *, still_wanted: Callable[[], bool],
             stop: threading.Event | None = None) -> Iterator[int | None]:
        """Hold one slot for the block: its number, or None when no longer wanted before one came.

        ``still_wanted`` is asked between looks (is there still work, is the deadline not past).
        """
        slot = self._wait_for_slot(still_wanted, stop)
        try:
            yield slot
        finally:
            if slot is not None:
                try:
                    self.ledger.release_lease(self.holder, slot)
                except Exception as exc:  # given back at the next look for a slot
                    with self._lock:
                        self._unreleased.add(slot)
                    log.warning("could not give back submit slot %s (%s); giving it back later",
                                slot, exc)

    def give_back_unreleased(self) -> int:
        """Give back the slots whose give-back failed before; how many are still held."""
        with self._lock:
            pending, self._unreleased = self._unreleased, set()
        failed = set()
        for slot in sorted(pending):
            try:
                self.ledger.release_lease(self.holder, slot)
            except Exception:  # still unreachable: the next look tries again
                failed.add(slot)
        with self._lock:
            self._unreleased |= failed
        return len(failed)

    def renew(self) -> None:
        """Keep this worker's leases alive (a long request outliving the ttl keeps its slot)."""
        self.ledger.renew_leases(self.holder, ttl=self.ttl)

    def _wait_for_slot(self, still_wanted: Callable[[], bool],
                       stop: threading.Event | None) -> int | None:
        waited = False
        try:
            while True:
                if stop is not None and stop.is_set():
                    return None
                if self._unreleased:
                    self.give_back_unreleased()
                slot = self.ledger.acquire_lease(self.holder, self.size, ttl=self.ttl)
                if slot is not None:
                    return slot
                if not waited:
                    waited = True
                    with self._lock:
                        self._waiting += 1
                        self.peak_waiters = max(self.peak_waiters, self._waiting)
                if not still_wanted():
                    return None
                # Jitter: lanes of several workers waiting together do not look in lockstep.
                pause = SLOT_POLL * (0.5 + random.random())
                if stop is not None:
                    stop.wait(pause)
                else:
                    time.sleep(pause)
        finally:
            if waited:
                with self._lock:
                    self._waiting -= 1
