"""When and how long the client waits before sending a request again.

Capped exponential backoff with full jitter, Retry-After in either of its two HTTP forms, and the
one question that decides whether a failed upload may be resent: did the request certainly never
reach Atlas?
"""

from __future__ import annotations

import http.client
import random
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import requests
import urllib3.exceptions

from ..backoff import backoff_delay
from ..config import DEFAULT_BACKOFF_BASE, DEFAULT_BACKOFF_CAP, DEFAULT_MAX_RETRIES


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to resend, and the backoff between attempts (seconds)."""

    max_retries: int = DEFAULT_MAX_RETRIES
    backoff_base: float = DEFAULT_BACKOFF_BASE
    backoff_cap: float = DEFAULT_BACKOFF_CAP

    def __post_init__(self) -> None:
        if self.max_retries < 0 or self.backoff_base < 0 or self.backoff_cap < 0:
            raise ValueError("RetryPolicy values must not be negative")

    def delay(self, retry_number: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry ``retry_number`` (0-based); Retry-After wins, capped."""
        if retry_after is not None:
            return max(0.0, min(retry_after, self.backoff_cap))
        ceiling = backoff_delay(retry_number, self.backoff_base, self.backoff_cap)
        # Full jitter: many clients throttled at once must not come back in lockstep.
        return random.uniform(0.0, ceiling)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or bad."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None or when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds == float("inf"):  # NaN or infinity from a hostile header
        return None
    return max(0.0, seconds)


def _exception_chain(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps: args, urllib3's ``reason``, causes and contexts."""
    seen: list[BaseException] = []
    pending: list[BaseException] = [exc]
    while pending and len(seen) < 32:
        current = pending.pop()
        if any(current is s for s in seen):
            continue
        seen.append(current)
        nested = [a for a in current.args if isinstance(a, BaseException)]
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            nested.append(reason)
        for linked in (current.__cause__, current.__context__):
            if linked is not None:
                nested.append(linked)
        pending.extend(nested)
    return seen


def never_sent(exc: BaseException) -> bool:
    """True only when the connection was never established, so Atlas cannot have seen the request.

    requests' ConnectionError covers both "refused" and "reset after the body went out"; only the
    urllib3 exception underneath tells them apart. NewConnectionError and NameResolutionError are
    subclasses of ConnectTimeoutError, and a read timeout is not.
    """
    for item in _exception_chain(exc):
        if isinstance(
            item, requests.exceptions.ConnectTimeout | urllib3.exceptions.ConnectTimeoutError
        ):
            return True
    return False


def describe_transport_failure(exc: BaseException) -> str:
    """A short plain description of what went wrong on the wire, without URLs or headers."""
    chain = _exception_chain(exc)
    kinds = tuple(type(item) for item in chain)

    def has(*types: type[BaseException]) -> bool:
        return any(issubclass(kind, types) for kind in kinds)

    if has(requests.exceptions.InvalidHeader):  # its text holds the header value: never shown
        return "a header value holds a line break or another character HTTP does not allow"
    if has(urllib3.exceptions.NameResolutionError):
        return "the Atlas host name could not be resolved"
    if has(ConnectionRefusedError):
        return "the connection was refused"
    if has(requests.exceptions.ConnectTimeout, urllib3.exceptions.ConnectTimeoutError):
        return "the connection could not be established in time"
    if has(requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError, TimeoutError):
        return "Atlas did not answer in time"
    if has(http.client.RemoteDisconnected):  # a subclass of ConnectionResetError
        return "the connection closed before Atlas answered"
    if has(ConnectionResetError):
        return "the connection was reset"
    if has(requests.exceptions.SSLError, urllib3.exceptions.SSLError):
        return "the secure connection failed"
    if has(urllib3.exceptions.ProtocolError, ConnectionAbortedError):
        return "the connection closed before Atlas answered"
    return "the connection failed"
