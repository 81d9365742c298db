"""The row checks, each over a whole column at once (Arrow-backed string operations, no row loops).

Every check yields a Finding: a code, a boolean mask over the rows and the message(s) for the
rows it marks. Values are never changed: checks that ignore surrounding spaces work on a
stripped copy, and the value reported is always the cell as read.

Choices made here:
- ID_WHITESPACE is an error, not a warning. The ID must go to Atlas exactly as read, and an ID
  with a stray space would come back from Atlas as " 0012", matching nothing in the analyst's
  own records; fixing it in the sheet takes a second, untangling it later does not.
- ID_DUPLICATE compares IDs without their surrounding spaces, so "0012" and "0012 " are the
  same document to it (and every occurrence is reported), while "ab" and "AB" are different.
- ID_NUMBER_MANGLED: scientific notation with a signed exponent (Excel's display, 1.23457E+15),
  a digit string with more than 15 significant digits that are all zero after the 15th (what
  Excel's rounding leaves), and numeric xlsx cells of 16 or more digits. A 16-digit ID that
  does not end in zeros is left alone: it cannot have come out of Excel's rounding.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from .presigned import expiry_times
from .textops import (
    Strings,
    arrow_strings,
    byte_lengths,
    duplicated_rows,
    extract,
    lengths,
    matches,
    rows_with_unusual_bytes,
    strip,
    subset,
    to_bool,
)

MAX_URL_LENGTH = 2048
MAX_ID_LENGTH = 128
EXPIRY_WARNING = timedelta(hours=1)
DOCUMENT_EXTENSIONS = ("jpg", "jpeg", "png", "pdf", "tif", "tiff", "webp", "heic", "bmp", "gif")

ERROR_CODES = (
    "URL_MISSING", "URL_CONTROL_CHARS", "URL_HAS_SPACES", "URL_NOT_HTTP", "URL_TOO_LONG",
    "URL_PRIVATE_HOST", "URL_EXPIRED", "ID_MISSING", "ID_CONTROL_CHARS", "ID_WHITESPACE", "ID_TOO_LONG",
    "ID_NUMBER_MANGLED", "ID_DUPLICATE",
)  # fmt: skip
WARNING_CODES = (
    "URL_EXPIRING_SOON", "URL_EXTENSION", "URL_DUPLICATE", "ROW_REPEATED", "ID_IN_LEDGER",
)  # fmt: skip
CODE_ORDER = {code: i for i, code in enumerate(ERROR_CODES + WARNING_CODES)}

# C0/C1 controls and the invisible format characters a copy-paste from a web page brings along.
_CONTROL = "[\\x00-\\x1f\\x7f-\\x9f\u200b-\u200f\u2028\u2029\u2060\ufeff]"
# Spaces, including the no-break and typographic ones (tab/CR/LF count as control characters).
_SPACE = "[ \u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]"
_HTTP_WITH_HOST = r"(?i)^https?://[^/?#\s]"
# The last path segment's extension: the dot and letters right before the query or the end.
_PATH_EXTENSION = r"^[A-Za-z]+://[^/?#]+/[^?#]*\.(?P<g>[A-Za-z0-9]{1,10})(?:[?#]|$)"
_HAS_EXTENSION = r"^[A-Za-z]+://[^/?#]+/[^?#]*\.[A-Za-z0-9]{1,10}(?:[?#]|$)"
# An http(s) link with a host whose path ends in a document extension: nearly every link in a
# sheet, so one pass settles both questions for them and the rest get the two checks apart.
_HTTP_DOCUMENT = (
    r"(?i)^https?://[^/?#\s][^/?#]*/[^?#]*\.(?:"
    + "|".join(DOCUMENT_EXTENSIONS)
    + r")(?:[?#]|$)"
)
# A host Atlas, on the internet, can never fetch from: localhost, loopback, the private ranges
# (10/8, 172.16/12, 192.168/16), link-local (169.254/16, fe80::/10), "this network" (0/8),
# IPv6 loopback and unique-local (fc00::/7), and mDNS ".local" names. Anchored at the start,
# so RE2 stops at the end of the host: one cheap pass over the well-formed links.
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_PRIVATE_HOST = (
    r"(?i)^https?://(?:[^/?#@]*@)?(?:"
    r"(?:[^/?#@:\[\]]*\.)?(?:localhost|local)\.?"
    rf"|(?:127|10|0)(?:\.{_OCTET}){{3}}"
    rf"|172\.(?:1[6-9]|2\d|3[01])(?:\.{_OCTET}){{2}}"
    rf"|192\.168(?:\.{_OCTET}){{2}}"
    rf"|169\.254(?:\.{_OCTET}){{2}}"
    r"|\[[0:]*:0*1\]|\[:*\]"
    r"|\[f[cd][0-9a-f]{0,2}:[^\]]*\]"
    r"|\[fe[89ab][0-9a-f]?:[^\]]*\]"
    r")(?::\d*)?(?:[/?#]|$)"
)
_HOST_SAMPLE = 2000  # first rows looked at for the sheet's common hosts
# "scheme://host/" up to the first character that ends the host (the prefix test needs it).
_HOST_PREFIX = re.compile(r"(?i)https?://[^/?#\s]+[/?#]")
_SCHEME = r"^\s*(?P<g>[A-Za-z][A-Za-z0-9+.\-]{0,20}):"
_PADDED_URL = (
    "The URL has spaces before or after it; remove them (the link is used exactly as written)."
)
_SPACE_IN_URL = "The URL contains a space; a working link writes it as %20. Copy the link again from its source."
# Excel's scientific display (1.23457E+15, 1,2E+15 in comma locales) always signs the exponent.
_SCIENTIFIC = r"^[+-]?\d+(?:[.,]\d+)?[eE][+-]\d+$"
# More than 15 significant digits, all zero after the 15th: what Excel leaves of a long number.
_ROUNDED = r"^0*[1-9]\d{14}0+$"
_MANGLED = f"(?:{_SCIENTIFIC})|(?:{_ROUNDED})"

KnownIds = Callable[[list[str]], Iterable[str]]


@dataclass
class Finding:
    """One check's result: the rows it marks and their message (one for all, or one per marked row)."""

    code: str
    column: str
    mask: np.ndarray
    message: str | np.ndarray


def url_findings(urls: pd.Series, column: str, now: datetime) -> tuple[list[Finding], np.ndarray]:
    """The URL checks; also returns the mask of well-formed URLs (the ones later checks look at)."""
    strings = arrow_strings(urls)
    size = byte_lengths(strings)
    present = size > 0
    document = matches(strings, _HTTP_DOCUMENT)
    http = document.copy()
    others = np.flatnonzero(~document)
    if len(others):
        http[others] = matches(subset(strings, others), _HTTP_WITH_HOST)
    control = np.zeros(len(urls), dtype=bool)
    spaces = np.zeros(len(urls), dtype=bool)
    padded = np.zeros(len(urls), dtype=bool)
    # Spaces and control characters are rare: one byte scan finds the rows that may hold them
    # (any non-ASCII byte counts), then the exact checks look at those rows only.
    odd = rows_with_unusual_bytes(strings)
    if len(odd):
        sub = subset(strings, odd)
        stripped = strip(sub)
        present[odd] = lengths(stripped) > 0
        control[odd] = matches(sub, _CONTROL)
        spaces[odd] = matches(sub, _SPACE)
        padded[odd] = lengths(stripped) != lengths(sub)
        http[odd] = matches(stripped, _HTTP_WITH_HOST)
    length = size.copy()
    long_rows = np.flatnonzero(
        size > MAX_URL_LENGTH
    )  # bytes >= characters: only these can be too long
    if len(long_rows):
        length[long_rows] = lengths(subset(strings, long_rows))
    control &= present
    # A space matters only in something that is a link; "not a url" is told it is not a link.
    spaces &= present & http
    not_http = present & ~http
    too_long = present & (length > MAX_URL_LENGTH)
    candidates = present & ~(control | spaces | not_http | too_long)
    private = private_hosts(strings, candidates)
    well_formed = candidates & ~private
    findings = [
        Finding("URL_MISSING", column, ~present, "The file URL is empty; add the link to the document."),
        Finding("URL_CONTROL_CHARS", column, control, "The URL contains invisible characters (a tab, a line break or another control character); paste it again as plain text."),
        Finding("URL_HAS_SPACES", column, spaces, np.where(padded[spaces], _PADDED_URL, _SPACE_IN_URL).astype(object)),
        Finding("URL_NOT_HTTP", column, not_http, _scheme_messages(strings, not_http)),
        Finding("URL_TOO_LONG", column, too_long, _length_messages(length, too_long, "URL", MAX_URL_LENGTH)),
        Finding("URL_PRIVATE_HOST", column, private, "The link points to a local or private address (such as localhost, 10.x, 192.168.x or a .local name) that Atlas, on the internet, can never download from; use a link Atlas can reach."),
    ]  # fmt: skip
    expires = expiry_times(strings, well_formed)
    has_expiry = ~np.isnat(expires)
    now64 = np.datetime64(int(now.timestamp()), "s")
    expired = has_expiry & (expires <= now64)
    soon = has_expiry & ~expired & (expires <= now64 + np.timedelta64(EXPIRY_WARNING))
    findings.append(
        Finding(
            "URL_EXPIRED",
            column,
            expired,
            _expiry_messages(expires, expired, "expired at {} UTC; create a new pre-signed link."),
        )
    )
    findings.append(Finding("URL_EXPIRING_SOON", column, soon, _expiry_messages(expires, soon, "expires at {} UTC, within the hour; Atlas may not download it in time.")))  # fmt: skip
    # Regex passes without capture groups (RE2 then runs its fast DFA); rows without a document
    # extension are usually few, and only they get the second pass and the extraction.
    odd_ext = well_formed & ~document
    maybe = np.flatnonzero(odd_ext)
    if len(maybe):
        odd_ext[maybe] = matches(subset(strings, maybe), _HAS_EXTENSION)
    extension = np.full(len(urls), None, dtype=object)
    if odd_ext.any():
        extension[odd_ext] = extract(subset(strings, np.flatnonzero(odd_ext)), _PATH_EXTENSION)
    findings.append(
        Finding("URL_EXTENSION", column, odd_ext, _extension_messages(extension, odd_ext))
    )
    return findings, well_formed


def private_hosts(strings: Strings, mask: np.ndarray) -> np.ndarray:
    """Rows (among ``mask``: http(s) links without spaces) whose host Atlas can never reach.

    A sheet's links mostly share a few hosts: the rows on its most common (public) hosts are
    settled by a prefix comparison, several times cheaper than a regex call per row, and only
    the other rows get the regex.
    """
    rest = mask.copy()
    for prefix in _common_prefixes(strings, mask):
        rest &= ~to_bool(pc.starts_with(strings, prefix))
    found = np.zeros(len(mask), dtype=bool)
    left = np.flatnonzero(rest)
    if len(left):
        found[left] = matches(subset(strings, left), _PRIVATE_HOST)
    return found


def _common_prefixes(strings: Strings, mask: np.ndarray) -> list[str]:
    """Up to three "scheme://host/" prefixes common in the first rows, of hosts that are public."""
    sample = np.flatnonzero(mask[:_HOST_SAMPLE])
    if not len(sample):
        return []
    counts: dict[str, int] = {}
    for value in subset(strings, sample).to_pylist():
        found = _HOST_PREFIX.match(value or "")  # arrow_strings leaves no nulls
        if found:
            counts[found.group()] = counts.get(found.group(), 0) + 1
    common = sorted(counts, key=counts.__getitem__, reverse=True)[:3]
    return [
        p for p in common if counts[p] * 10 >= len(sample) and not re.match(_PRIVATE_HOST, p)
    ]


def id_findings(
    ids: pd.Series, column: str, mangled_rows: np.ndarray
) -> tuple[list[Finding], pd.Series, np.ndarray]:
    """The ID checks; also returns the stripped IDs and the mask of present IDs."""
    strings = arrow_strings(ids)
    stripped = strip(strings)
    length, stripped_length = lengths(strings), lengths(stripped)
    present = stripped_length > 0
    control = present & matches(strings, _CONTROL)
    padded = present & (stripped_length != length) & ~control
    too_long = present & (length > MAX_ID_LENGTH)
    mangled = present & (matches(stripped, _MANGLED) | mangled_rows)
    findings = [
        Finding("ID_MISSING", column, ~present, "The document ID is empty; every document needs an ID."),
        Finding("ID_CONTROL_CHARS", column, control, "The document ID contains invisible characters (a tab, a line break or another control character); type it again."),
        Finding("ID_WHITESPACE", column, padded, "The document ID has spaces before or after it; remove them, so results match your records exactly."),
        Finding("ID_TOO_LONG", column, too_long, _length_messages(length, too_long, "document ID", MAX_ID_LENGTH)),
        Finding("ID_NUMBER_MANGLED", column, mangled, "Excel has turned this ID into a number and lost digits (scientific notation, or rounded after 15 digits); format the column as Text and enter the IDs again."),
    ]  # fmt: skip
    return findings, pd.Series(pd.arrays.ArrowStringArray(stripped), index=ids.index), present


def duplicate_ids(
    stripped: pd.Series,
    present: np.ndarray,
    rows: np.ndarray,
    column: str,
    only: np.ndarray | None = None,
) -> Finding:
    """ID_DUPLICATE on every occurrence of an ID used more than once (ignoring surrounding spaces).

    ``only``, when given, is the mask of duplicated rows to report (already worked out).
    """
    dup = present & duplicated_rows(arrow_strings(stripped)) if only is None else only
    message: str | np.ndarray = ""
    if dup.any():
        listing = _row_listing(stripped[dup].to_numpy(dtype=object), rows[dup])
        message = np.array(
            [f"The document ID {key!r} is used {n} times in this file ({where}); each document needs its own ID."
             for key, (n, where) in zip(stripped[dup].to_numpy(dtype=object), listing, strict=True)],
            dtype=object,
        )  # fmt: skip
    return Finding("ID_DUPLICATE", column, dup, message)


def duplicate_findings(
    stripped: pd.Series, present: np.ndarray, urls: pd.Series, rows: np.ndarray, column: str
) -> list[Finding]:
    """ID_DUPLICATE on IDs used for different URLs; ROW_REPEATED on exact copies after the first.

    A row copied twice (same ID, same URL) is one document: the first copy is sent and the
    others are warned about (the planner skips an ID seen earlier in the file), rather than
    rejecting every copy so that the document is never sent.
    """
    dup = present & duplicated_rows(arrow_strings(stripped))
    later = np.zeros(len(stripped), dtype=bool)
    message: str | np.ndarray = ""
    if dup.any():
        at = np.flatnonzero(dup)  # few rows: the pandas work below is on these only
        # Taken chunk by chunk (subset): Series.iloc would copy the whole column first.
        pairs = pd.DataFrame({"id": _values_at(stripped, at), "url": _values_at(urls, at),
                              "row": rows[at]})  # fmt: skip
        one_url = pairs.groupby("id", sort=False)["url"].transform("nunique").to_numpy() == 1
        first_row = pairs.groupby("id", sort=False)["row"].transform("first").to_numpy()
        copy = one_url & pairs.duplicated("id").to_numpy()
        dup[at[one_url]] = False
        later[at[copy]] = True
        message = np.array(
            [f"This row repeats row {r} exactly (same ID and URL); the document is sent once, from row {r}."
             for r in first_row[copy]],
            dtype=object,
        )  # fmt: skip
    return [
        duplicate_ids(stripped, present, rows, column, only=dup),
        Finding("ROW_REPEATED", column, later, message),
    ]


def duplicate_urls(
    urls: pd.Series,
    repeated: np.ndarray,
    stripped_ids: pd.Series,
    usable: np.ndarray,
    rows: np.ndarray,
    column: str,
) -> Finding:
    """URL_DUPLICATE on rows whose URL (``repeated``: seen more than once) appears under another ID."""
    mask = np.zeros(len(urls), dtype=bool)
    message: str | np.ndarray = ""
    candidates = usable & repeated
    if candidates.any():
        pairs = pd.DataFrame({"url": urls[candidates], "id": stripped_ids[candidates]})
        ids_per_url = pairs.drop_duplicates().groupby("url", sort=False)["id"].size()
        shared = ids_per_url[ids_per_url > 1]
        mask[candidates] = pairs["url"].isin(shared.index).to_numpy(dtype=bool)
        values = urls[mask].to_numpy(dtype=object)
        listing = _row_listing(values, rows[mask])
        message = np.array(
            [f"The same URL is used for {shared[u]} different document IDs ({where}); Atlas will read the same image for each."
             for u, (_, where) in zip(values, listing, strict=True)],
            dtype=object,
        )  # fmt: skip
    return Finding("URL_DUPLICATE", column, mask, message)


def ledger_ids(
    stripped: pd.Series, present: np.ndarray, known_ids: KnownIds | None, column: str
) -> tuple[Finding, tuple[int, ...]]:
    """ID_IN_LEDGER on rows whose ID the ledger already holds (when a ledger is wired in), and
    the earlier uploads that sent them (when the lookup says, as the ledger's does)."""
    mask = np.zeros(len(stripped), dtype=bool)
    message: str | np.ndarray = (
        "This document ID was already sent to Atlas in an earlier upload; sending it again creates a second result."
    )
    uploads: tuple[int, ...] = ()
    if known_ids is not None and present.any():
        unique = pd.unique(stripped[present]).tolist()
        found = known_ids(unique)
        known = set(found)
        if known:
            mask = present & stripped.isin(known).to_numpy(dtype=bool)
        if isinstance(found, Mapping) and known:
            first = stripped[mask].map(found)
            uploads = tuple(sorted({int(u) for u in first}))
            message = np.array(
                [f"This document ID was already sent to Atlas in upload {int(u)}; sending it again creates a second result."
                 for u in first],
                dtype=object,
            )  # fmt: skip
    return Finding("ID_IN_LEDGER", column, mask, message), uploads


def _values_at(values: pd.Series, positions: np.ndarray) -> np.ndarray:
    return subset(arrow_strings(values), positions).to_numpy(zero_copy_only=False).astype(object)


def _row_listing(keys: np.ndarray, rows: np.ndarray, shown: int = 5) -> list[tuple[int, str]]:
    groups: dict[object, list[int]] = {}
    for key, row in zip(keys, rows.tolist(), strict=True):
        groups.setdefault(key, []).append(row)
    text = {}
    for key, where in groups.items():
        more = f" and {len(where) - shown} more" if len(where) > shown else ""
        text[key] = (len(where), "rows " + ", ".join(map(str, where[:shown])) + more)
    return [text[k] for k in keys]


def _scheme_messages(strings: Strings, mask: np.ndarray) -> np.ndarray:
    schemes = extract(subset(strings, np.flatnonzero(mask)), _SCHEME)
    return np.array(
        [f"Atlas can only download http:// or https:// links, and this one starts with '{s}:'."
         if s and s.lower() not in ("http", "https") else
         "This is not a web link: it must start with http:// or https:// followed by a host name."
         for s in schemes],
        dtype=object,
    )  # fmt: skip


def _length_messages(lengths: np.ndarray, mask: np.ndarray, what: str, limit: int) -> np.ndarray:
    return np.array(
        [f"The {what} is {n:,} characters long; the limit is {limit:,}." for n in lengths[mask]],
        dtype=object,
    )


def _expiry_messages(expires: np.ndarray, mask: np.ndarray, template: str) -> np.ndarray:
    stamps = pd.to_datetime(expires[mask]).strftime("%Y-%m-%d %H:%M")
    return np.array(["This pre-signed link " + template.format(s) for s in stamps], dtype=object)


def _extension_messages(extension: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return np.array(
        [f"The link points to a '.{e}' file, while Atlas reads images and PDFs ({', '.join(DOCUMENT_EXTENSIONS)}); check it is the document." for e in extension[mask]],
        dtype=object,
    )  # fmt: skip


# What the page calls each problem: words for people (the codes stay for the CLI and JSON).
PROBLEM_TITLES = {
    "URL_MISSING": "No link",
    "URL_CONTROL_CHARS": "Invisible characters in the link",
    "URL_HAS_SPACES": "Spaces in the link",
    "URL_NOT_HTTP": "Not a web link",
    "URL_TOO_LONG": "Link too long",
    "URL_PRIVATE_HOST": "Link to a private address",
    "URL_EXPIRED": "Link expired",
    "ID_MISSING": "No document ID",
    "ID_CONTROL_CHARS": "Invisible characters in the ID",
    "ID_WHITESPACE": "Spaces around the ID",
    "ID_TOO_LONG": "ID too long",
    "ID_NUMBER_MANGLED": "ID spoiled by Excel",
    "ID_DUPLICATE": "ID used for different links",
    "URL_EXPIRING_SOON": "Link expires within the hour",
    "URL_EXTENSION": "Not an image or PDF",
    "URL_DUPLICATE": "Same link under other IDs",
    "ROW_REPEATED": "Row repeated",
    "ID_IN_LEDGER": "Already sent",
}

# One line for all the warnings of one kind: (one row, several rows), each with {n}.
_WARNING_SUMMARIES = {
    "URL_EXPIRING_SOON": ("{n} link expires within the hour; Atlas may not download it in time.",
                          "{n} links expire within the hour; Atlas may not download them in time."),
    "URL_EXTENSION": ("{n} link points to a file that is not an image or PDF; check it is the document.",
                      "{n} links point to files that are not images or PDFs; check they are the documents."),
    "URL_DUPLICATE": ("{n} row shares its link with another document ID; Atlas will read the same image for each.",
                      "{n} rows share their link with another document ID; Atlas will read the same image for each."),
    "ROW_REPEATED": ("{n} row repeats an earlier row exactly (same ID and link); the document is sent once.",
                     "{n} rows repeat an earlier row exactly (same ID and link); each document is sent once."),
    "ID_IN_LEDGER": ("{n} ID was already sent to Atlas in an earlier upload; it is skipped unless you send it again.",
                     "{n:,} IDs were already sent to Atlas in an earlier upload; they are skipped unless you send them again."),
}  # fmt: skip


def warning_summary(code: str, count: int, uploads: Sequence[int] = ()) -> str:
    """One sentence for ``count`` warnings of one kind ("4,884 IDs were already sent ... in upload 1")."""
    one, many = _WARNING_SUMMARIES.get(
        code, ("{n} row has this warning.", "{n:,} rows have this warning.")
    )
    sentence = (one if count == 1 else many).replace("{n}", "{n:,}").format(n=count)
    if code == "ID_IN_LEDGER" and uploads:
        sentence = sentence.replace("in an earlier upload", f"in {_uploads_named(uploads)}")
    return sentence


def _uploads_named(uploads: Sequence[int], shown: int = 5) -> str:
    """ "upload 1", "uploads 1 and 3", "uploads 1, 2, 3, 4, 5 and 4 more"."""
    names = [f"{u:,}" for u in uploads]
    if len(names) == 1:
        return f"upload {names[0]}"
    if len(names) > shown:
        return f"uploads {', '.join(names[:shown])} and {len(names) - shown:,} more"
    return f"uploads {', '.join(names[:-1])} and {names[-1]}"
