"""The in-memory token cache: one token shared by every thread, minted by one thread at a time.

A mint that fails is not repeated by the threads that queued behind it on the lock: they get the
same failure, so an unreachable Atlas costs one token request, not one per waiting thread. A
``deadline`` (``time.monotonic()`` seconds) is handed to the mint so its retries end in time.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

# A token minted now is renewed this share of its lifetime early at the latest, so a short-lived
# token (a sandbox setting, or an Atlas change) is not treated as already expired.
_MAX_MARGIN_SHARE = 0.5


class TokenCache:
    """Holds the current token in memory only, and renews it before it expires or when refused."""

    def __init__(
        self,
        mint: Callable[[float | None], tuple[str, float]],
        *,
        margin: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._mint = mint
        self._margin = max(0.0, margin)
        self._clock = clock
        self._lock = threading.Lock()
        # (token, renew_at) swapped as one tuple so readers never see half an update.
        self._current: tuple[str, float] | None = None
        self._recent: deque[str] = deque(maxlen=4)
        # Counts mints finished; with the failure of the latest, a thread that waited on the lock
        # while a mint failed can tell, and shares that failure instead of minting again.
        self._mints = 0
        self._failure: Exception | None = None

    def get(self, deadline: float | None = None) -> str:
        """The current token, minting one first when there is none or it is about to expire."""
        current = self._current
        if current is not None and self._clock() < current[1]:
            return current[0]
        seen = self._mints
        with self._lock:
            current = self._current
            if current is not None and self._clock() < current[1]:
                return current[0]  # another thread minted while this one waited
            self._raise_shared_failure(seen)
            return self._mint_locked(deadline)[0]

    def renew(self, refused: str, deadline: float | None = None) -> str:
        """A token other than ``refused`` (which Atlas answered 401 to), minting only if needed."""
        seen = self._mints
        with self._lock:
            current = self._current
            if current is not None and current[0] != refused and self._clock() < current[1]:
                return current[0]
            self._raise_shared_failure(seen)
            return self._mint_locked(deadline)[0]

    def mint_now(self, deadline: float | None = None) -> float:
        """Mint a fresh token whatever the cache holds; return its lifetime in seconds."""
        with self._lock:
            return self._mint_locked(deadline)[1]

    def forget(self) -> None:
        """Drop the cached token (on close)."""
        with self._lock:
            self._current = None

    def secrets(self) -> tuple[str, ...]:
        """Recent tokens, so error text that echoes one can be scrubbed."""
        return tuple(self._recent)

    def _raise_shared_failure(self, seen: int) -> None:
        # Called under the lock: a mint that ended after this thread arrived failed, so the answer
        # it would get now is that failure (the next caller, arriving later, tries afresh).
        failure = self._failure
        if failure is not None and self._mints != seen:
            raise failure.with_traceback(None)

    def _mint_locked(self, deadline: float | None = None) -> tuple[str, float]:
        started = self._clock()  # the lifetime runs from when Atlas minted, not when we heard
        try:
            token, expires_in = self._mint(deadline)
        except Exception as exc:
            self._failure = exc
            raise
        except BaseException:  # Ctrl-C is this thread's news, not an answer to share
            self._failure = None
            raise
        else:
            self._failure = None
        finally:
            self._mints += 1
        margin = min(self._margin, expires_in * _MAX_MARGIN_SHARE)
        self._recent.append(token)
        self._current = (token, started + expires_in - margin)
        return token, expires_in
