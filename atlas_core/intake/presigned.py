"""When a pre-signed link stops working, read from its query string (S3 SigV4/V2, GCS V4).

The signing time and lifetime are read with numpy from the bytes after ``-Date=`` rather than
with a capturing regex, which costs seconds on a million URLs. AWS and Google SDKs sort the
query parameters, so ``X-Amz-Expires`` directly follows ``X-Amz-Date``; other orders take a
second, slower look. Parameter names are case-sensitive for S3 and GCS, and so is this match.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from .textops import Strings, contains, distinct_rows, extract, find, gather, subset

NOT_A_TIME = np.datetime64("NaT", "s")
_V2_EXPIRES = r"[?&]Expires=(?P<g>\d{9,11})(?:[&#]|$)"  # SigV2: absolute Unix seconds
_BEFORE = 7  # "?X-Goog" is the longest text before "-Date="
_STAMP = 16  # YYYYMMDDTHHMMSSZ
_NUMBER = 11  # up to 10 digits and the byte after them
_ROWS_AT_A_TIME = 1 << 16


def expiry_times(urls: Strings, candidates: np.ndarray) -> np.ndarray:
    """The UTC expiry (datetime64[s], NaT when unknown) of each pre-signed URL among ``candidates``."""
    result = np.full(len(urls), NOT_A_TIME)
    position = find(urls, "-Date=")
    rows = np.flatnonzero(candidates & (position >= _BEFORE - 1))
    for start in range(0, len(rows), _ROWS_AT_A_TIME):  # bounded temporaries on a million rows
        block_rows = rows[start : start + _ROWS_AT_A_TIME]
        found, expiry = _sigv4_expiry(urls, block_rows, position[block_rows])
        result[found] = expiry
    rest = np.flatnonzero(candidates & np.isnat(result))
    if len(rest):
        sub = subset(urls, rest)
        signed_v2 = contains(sub, "Signature=")
        if signed_v2.any():
            found_v2 = extract(subset(sub, np.flatnonzero(signed_v2)), _V2_EXPIRES)
            ok = np.not_equal(found_v2, np.array(None, dtype=object))
            result[rest[signed_v2][ok]] = found_v2[ok].astype(np.int64).astype("datetime64[s]")
    return result


def _sigv4_expiry(
    urls: Strings, rows: np.ndarray, position: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(rows, expiry) for the given rows whose "-Date=" at ``position`` is an X-Amz/X-Goog date."""
    after = _BEFORE + len("-Date=")
    block = gather(urls, rows, position - _BEFORE, after + _STAMP + 16 + _NUMBER)
    # The same window (vendor, signing time, lifetime) repeats across links signed together:
    # each distinct one is parsed once.
    unique, which = distinct_rows(block)
    vendor = _vendor(unique[:, :_BEFORE])
    signed = _sigv4_time(unique[:, after : after + _STAMP])
    tail = unique[:, after + _STAMP :]
    seconds = np.full(len(unique), -1, dtype=np.int64)
    for kind, name in ((1, b"&X-Amz-Expires="), (2, b"&X-Goog-Expires=")):
        here = (vendor == kind) & (tail[:, : len(name)] == np.frombuffer(name, np.uint8)).all(1)
        if here.any():
            seconds[here] = _leading_number(tail[here, len(name) : len(name) + _NUMBER])
    vendor, signed, seconds = vendor[which], signed[which], seconds[which]
    if not (vendor > 0).all():
        rows, signed, seconds = rows[vendor > 0], signed[vendor > 0], seconds[vendor > 0]
    slow = np.flatnonzero(seconds < 0)
    if len(slow):
        seconds[slow] = _expires_anywhere(urls, rows[slow])
    ok = ~np.isnat(signed) & (seconds >= 0)
    return rows[ok], signed[ok] + seconds[ok].astype("timedelta64[s]")


def _vendor(before: np.ndarray) -> np.ndarray:
    """1 where the bytes end in "?X-Amz"/"&X-Amz", 2 for "?X-Goog"/"&X-Goog", else 0."""
    separator = (before == ord("?")) | (before == ord("&"))
    amz = separator[:, 1] & (before[:, 2:] == np.frombuffer(b"X-Amz", np.uint8)).all(1)
    goog = separator[:, 0] & (before[:, 1:] == np.frombuffer(b"X-Goog", np.uint8)).all(1)
    return np.where(amz, 1, np.where(goog, 2, 0))


def _expires_anywhere(urls: Strings, rows: np.ndarray) -> np.ndarray:
    """X-Amz-Expires / X-Goog-Expires wherever it sits in the query (the slow path)."""
    sub = subset(urls, rows)
    position = find(sub, "-Expires=")
    seconds = np.full(len(rows), -1, dtype=np.int64)
    have = np.flatnonzero(position >= _BEFORE - 1)
    if len(have):
        block = gather(sub, have, position[have] - _BEFORE, _BEFORE + len("-Expires=") + _NUMBER)
        named = _vendor(block[:, :_BEFORE]) > 0
        seconds[have[named]] = _leading_number(block[named, _BEFORE + len("-Expires=") :])
    return seconds


def _sigv4_time(raw: np.ndarray) -> np.ndarray:
    """Parse YYYYMMDDTHHMMSSZ from a (n, 16) byte block; NaT where malformed."""
    is_digit = (raw - np.uint8(48)) <= 9  # wraps below '0'
    ok = is_digit[:, :8].all(1) & is_digit[:, 9:15].all(1)
    ok &= (raw[:, 8] == ord("T")) & (raw[:, 15] == ord("Z"))

    def number(first: int, count: int) -> np.ndarray:
        value = np.zeros(len(raw), dtype=np.int64)
        for k in range(first, first + count):
            value = value * 10 + (raw[:, k].astype(np.int64) - 48)
        return value

    year, month, day = number(0, 4), number(4, 2), number(6, 2)
    hour, minute, second = number(9, 2), number(11, 2), number(13, 2)
    ok &= (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)
    ok &= (hour < 24) & (minute < 60) & (second < 61)
    months = np.where(ok, (year - 1970) * 12 + month - 1, 0).astype("datetime64[M]")
    offset = (day - 1) * 86400 + hour * 3600 + minute * 60 + second
    stamp = months.astype("datetime64[s]") + offset.astype("timedelta64[s]")
    return np.where(ok, stamp, NOT_A_TIME)


def _leading_number(raw: np.ndarray) -> np.ndarray:
    """The decimal number at the start of each byte row (up to 10 digits); -1 where none."""
    d = raw.astype(np.int64) - 48
    is_digit = (d >= 0) & (d <= 9)
    count = np.where(is_digit.all(1), raw.shape[1], is_digit.argmin(1))
    count = np.minimum(count, 10)
    value = np.zeros(len(raw), dtype=np.int64)
    for k in range(int(count.max(initial=0))):
        take = k < count
        value[take] = value[take] * 10 + d[take, k]
    return np.where(count > 0, value, -1)


def expiry_of(url: str) -> datetime | None:
    """The UTC expiry of one pre-signed URL (aware datetime), or None when it carries none."""
    import pyarrow as pa  # the column reader's input type; loaded with the rest of intake anyway

    found = expiry_times(pa.chunked_array([pa.array([url], pa.large_string())]), np.ones(1, bool))[0]
    if np.isnat(found):
        return None
    return datetime.fromtimestamp(int(found.astype("int64")), tz=UTC)
