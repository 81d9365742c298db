"""Backoff with full jitter, Retry-After parsing, and telling "never sent" from "maybe sent"."""

from __future__ import annotations

import http.client
import socket
from email.utils import formatdate

import pytest
import requests
import urllib3.exceptions

from atlas_core.client.retrying import (
    RetryPolicy,
    describe_transport_failure,
    never_sent,
    parse_retry_after,
)

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("retry_after", "cap", "expected"),
    [(1.0, 30.0, 1.0), (120.0, 30.0, 30.0), (0.0, 30.0, 0.0), (1.0, 0.05, 0.05)],
)
def test_retry_after_wins_but_is_capped(retry_after, cap, expected):
    assert RetryPolicy(backoff_base=0.5, backoff_cap=cap).delay(3, retry_after) == expected


@pytest.mark.parametrize(
    ("retry_number", "ceiling"), [(0, 0.5), (1, 1.0), (3, 4.0), (6, 10.0), (500, 10.0)]
)
def test_backoff_is_full_jitter_under_a_capped_exponential(retry_number, ceiling):
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=10.0)
    delays = [policy.delay(retry_number) for _ in range(300)]
    assert all(0.0 <= d <= ceiling for d in delays)
    assert len(set(delays)) > 1  # jittered, so throttled clients do not return in lockstep
    assert max(delays) > ceiling / 2


@pytest.mark.parametrize("field", ["max_retries", "backoff_base", "backoff_cap"])
def test_negative_policy_values_are_refused(field):
    with pytest.raises(ValueError):
        RetryPolicy(**{field: -1})


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("1", 1.0),
        (" 2.5 ", 2.5),
        ("0", 0.0),
        ("-3", 0.0),
        (formatdate(NOW + 30, usegmt=True), 30.0),
        (formatdate(NOW - 30, usegmt=True), 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
        ("Mon, 99 Foo 2026 25:61:00 GMT", None),
    ],
)
def test_parse_retry_after_reads_seconds_and_http_dates(header, expected):
    assert parse_retry_after(header, now=NOW) == expected


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_refused_connection_was_never_sent():
    with pytest.raises(requests.ConnectionError) as caught:
        requests.post(f"http://127.0.0.1:{_closed_port()}/v1/bulk/multiupload", json={}, timeout=2)
    assert never_sent(caught.value) is True
    assert describe_transport_failure(caught.value) == "the connection was refused"


# The shapes requests raises once a connection existed: the request may have reached the server.
MAYBE_SENT = [
    pytest.param(
        requests.ConnectionError(
            urllib3.exceptions.ProtocolError(
                "Connection aborted.",
                http.client.RemoteDisconnected("Remote end closed connection"),
            )
        ),
        "the connection closed before Atlas answered",
        id="remote-disconnected",
    ),
    pytest.param(
        requests.ConnectionError(
            urllib3.exceptions.ProtocolError(
                "Connection aborted.", ConnectionResetError(104, "reset")
            )
        ),
        "the connection was reset",
        id="reset",
    ),
    pytest.param(
        requests.ReadTimeout(urllib3.exceptions.ReadTimeoutError(None, "/x", "Read timed out.")),
        "Atlas did not answer in time",
        id="read-timeout",
    ),
    pytest.param(
        requests.exceptions.ChunkedEncodingError(
            urllib3.exceptions.ProtocolError("Response ended prematurely")
        ),
        "the connection closed before Atlas answered",
        id="body-cut",
    ),
]


@pytest.mark.parametrize(("error", "description"), MAYBE_SENT)
def test_a_failure_after_connecting_may_have_been_sent(error, description):
    assert never_sent(error) is False
    assert describe_transport_failure(error) == description


NEVER_SENT = [
    pytest.param(
        requests.ConnectTimeout("timed out"),
        "the connection could not be established in time",
        id="connect-timeout",
    ),
    pytest.param(
        requests.ConnectionError(
            urllib3.exceptions.MaxRetryError(
                None,
                "/x",
                urllib3.exceptions.NameResolutionError("atlas.invalid", None, socket.gaierror()),
            )
        ),
        "the Atlas host name could not be resolved",
        id="name-resolution",
    ),
]


@pytest.mark.parametrize(("error", "description"), NEVER_SENT)
def test_a_connection_never_made_was_never_sent(error, description):
    assert never_sent(error) is True
    assert describe_transport_failure(error) == description
