"""Sending one logical request to Atlas: timeouts, the connection pool, retries and counters.

Whether a failed request may be sent again is decided here, per request: ``resend_safe`` requests
(reads, token requests) are retried on any transport failure, 429 and 5xx; the others only when the
connection was never made, or on 429/503, which mean Atlas refused the request. A ``deadline``
(``time.monotonic()`` seconds) ends the retries early: no pause is begun that would end after it,
so a request returns or raises at most one request timeout after the deadline.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from ..errors import ConnectFailedError, OutcomeUnknownError, TransportError
from .retrying import RetryPolicy, describe_transport_failure, never_sent, parse_retry_after

log = logging.getLogger(__name__)

# Raised by requests while building a request, before any byte is sent.
_NOT_PREPARED = (
    requests.exceptions.InvalidHeader,
    requests.exceptions.InvalidURL,
    requests.exceptions.InvalidSchema,
    requests.exceptions.MissingSchema,
)

REFUSED_STATUSES = frozenset(
    {429, 503}
)  # Atlas did not take the request: even an upload may be resent


@dataclass(frozen=True)
class ClientStats:
    """A snapshot of the client's counters: requests sent, retries, tokens minted, errors by kind."""

    requests: int = 0
    retries: int = 0
    tokens_minted: int = 0
    reauthentications: int = 0
    waited_seconds: float = 0.0
    errors: Mapping[str, int] = field(default_factory=dict)


class StatsCounters:
    """Thread-safe counters behind ClientStats."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: Counter[str] = Counter()
        self._waited = 0.0
        self._errors: Counter[str] = Counter()

    def bump(self, name: str) -> None:
        """Add one to a counter (requests, tokens_minted, reauthentications)."""
        with self._lock:
            self._values[name] += 1

    def waited(self, seconds: float) -> None:
        """Record one retry and the pause before it."""
        with self._lock:
            self._values["retries"] += 1
            self._waited += seconds

    def error(self, kind: str) -> None:
        """Record one error raised to the caller, by class name."""
        with self._lock:
            self._errors[kind] += 1

    def snapshot(self) -> ClientStats:
        """All counters, read together."""
        with self._lock:
            return ClientStats(
                requests=self._values["requests"],
                retries=self._values["retries"],
                tokens_minted=self._values["tokens_minted"],
                reauthentications=self._values["reauthentications"],
                waited_seconds=self._waited,
                errors=dict(self._errors),
            )


def build_session(pool_size: int, base_url: str | None = None) -> requests.Session:
    """A session whose pool holds ``pool_size`` connections and which never resends by itself."""
    session = requests.Session()
    if base_url is not None:
        # requests reads the proxy and CA-bundle variables (and ~/.netrc) again on every request,
        # a sixth of the client's time per extracts page; every request goes to base_url, so they
        # are read once here. netrc is left out on purpose: Atlas authenticates with the Token
        # header, and a netrc entry would add a Basic Authorization header for its host.
        found = session.merge_environment_settings(base_url, {}, None, None, None)
        session.proxies = {k: v for k, v in found["proxies"].items() if k != "no"}
        session.verify = found["verify"]
        session.trust_env = False
    # urllib3 must never resend on its own: a silently resent upload is a second batch.
    retries = Retry(total=0, read=False, redirect=False)
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=retries)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    # Atlas sets no cookies; refusing them keeps the shared session free of mutable state.
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return session


class Transport:
    """Sends requests to one Atlas base URL with timeouts and the retry rules above."""

    def __init__(
        self,
        base_url: str,
        *,
        timeout: tuple[float, float],
        retry: RetryPolicy,
        pool_size: int,
        counters: StatsCounters,
    ) -> None:
        self.base_url = base_url
        self.timeout = timeout
        self.retry = retry
        self.counters = counters
        self.session = build_session(pool_size, base_url)

    def close(self) -> None:
        """Close every pooled connection."""
        self.session.close()

    def send(
        self,
        method: str,
        path: str,
        *,
        resend_safe: bool,
        token: Callable[[], str] | None = None,
        params: dict[str, Any] | None = None,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        deadline: float | None = None,
    ) -> tuple[requests.Response, str | None]:
        """One logical request with retries: the final response (any status) and the token it used.

        ``body`` is JSON already encoded (``receipts.upload_body``), once for every attempt.
        """
        url = self.base_url + path
        attempts = self.retry.max_retries + 1
        for attempt in range(1, attempts + 1):
            sent_headers = dict(headers or {})
            if body is not None:
                sent_headers.setdefault("Content-Type", "application/json")
            used = token() if token is not None else None  # per attempt: a pause may outlive it
            if used is not None:
                sent_headers["Token"] = used
            self.counters.bump("requests")
            failure: TransportError | None = None
            try:
                response = self.session.request(
                    method,
                    url,
                    params=params,
                    data=body,
                    headers=sent_headers,
                    timeout=self.timeout,
                    allow_redirects=False,  # a redirect would carry the Token header elsewhere
                )
            except requests.RequestException as exc:
                failure = self._failure(exc, method, path, url, resend_safe)
            if failure is not None:
                # Raised outside the except block so the requests exception, which holds the
                # prepared request and its Token header, is not chained onto the error.
                log.info(
                    "%s %s failed (attempt %d/%d): %s",
                    method,
                    path,
                    attempt,
                    attempts,
                    failure.message,
                )
                if failure.retry_safe and attempt < attempts and self._pause(attempt, None, deadline):
                    continue
                self.counters.error(type(failure).__name__)
                raise failure
            status = response.status_code
            log.debug("%s %s -> %d (attempt %d/%d)", method, path, status, attempt, attempts)
            if (
                status in REFUSED_STATUSES or (resend_safe and status >= 500)
            ) and attempt < attempts:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                delay = self.retry.delay(attempt - 1, retry_after)
                if deadline is None or time.monotonic() + delay < deadline:
                    response.close()
                    log.info(
                        "%s %s -> %d; retrying (attempt %d/%d)", method, path, status, attempt,
                        attempts,
                    )
                    self._wait(delay)
                    continue
            return response, used
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _failure(
        self, exc: requests.RequestException, method: str, path: str, url: str, resend_safe: bool
    ) -> TransportError:
        what = describe_transport_failure(exc)
        if isinstance(exc, _NOT_PREPARED):
            # requests refused to build the request (a header with a line break, say): nothing
            # left this process, and sending the same request again would fail the same way.
            error: TransportError = ConnectFailedError(
                f"{method} {path} was not sent to Atlas: {what}.", url=url
            )
            error.retry_safe = False
            return error
        if never_sent(exc):
            return ConnectFailedError(
                f"Could not connect to Atlas at {self.base_url}: {what}.", url=url
            )
        if resend_safe:
            error = TransportError(f"{method} {path} to Atlas failed: {what}.", url=url)
            error.retry_safe = True  # a read or a token request can be sent again harmlessly
            return error
        return OutcomeUnknownError(
            f"{method} {path} to Atlas failed after the request was sent ({what}), so Atlas may or "
            "may not have accepted it.",
            url=url,
        )

    def _pause(self, attempt: int, retry_after: float | None, deadline: float | None) -> bool:
        """Wait before the next attempt; False (without waiting) when it would end past the deadline."""
        delay = self.retry.delay(attempt - 1, retry_after)
        if deadline is not None and time.monotonic() + delay >= deadline:
            return False
        self._wait(delay)
        return True

    def _wait(self, delay: float) -> None:
        self.counters.waited(delay)
        if delay > 0:
            time.sleep(delay)
