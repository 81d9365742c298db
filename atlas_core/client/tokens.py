"""The in-memory token cache: one token shared by every thread, minted by one thread at a time."""

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
        mint: Callable[[], tuple[str, float]],
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

    def get(self) -> str:
        """The current token, minting one first when there is none or it is about to expire."""
        current = self._current
        if current is not None and self._clock() < current[1]:
            return current[0]
        with self._lock:
            current = self._current
            if current is not None and self._clock() < current[1]:
                return current[0]  # another thread minted while this one waited
            return self._mint_locked()[0]

    def renew(self, refused: str) -> str:
        """A token other than ``refused`` (which Atlas answered 401 to), minting only if needed."""
        with self._lock:
            current = self._current
            if current is not None and current[0] != refused and self._clock() < current[1]:
                return current[0]
            return self._mint_locked()[0]

    def mint_now(self) -> float:
        """Mint a fresh token whatever the cache holds; return its lifetime in seconds."""
        with self._lock:
            return self._mint_locked()[1]

    def forget(self) -> None:
        """Drop the cached token (on close)."""
        with self._lock:
            self._current = None

    def secrets(self) -> tuple[str, ...]:
        """Recent tokens, so error text that echoes one can be scrubbed."""
        return tuple(self._recent)

    def _mint_locked(self) -> tuple[str, float]:
        started = self._clock()  # the lifetime runs from when Atlas minted, not when we heard
        token, expires_in = self._mint()
        margin = min(self._margin, expires_in * _MAX_MARGIN_SHARE)
        self._recent.append(token)
        self._current = (token, started + expires_in - margin)
        return token, expires_in
