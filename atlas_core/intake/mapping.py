"""Finding the URL and ID columns: by header name or header words first, then by what the cells hold."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..errors import IntakeError
from .models import ColumnMapping

# Normalised header names (lower case, no spaces, underscores, hyphens or dots), best first.
URL_NAMES = (
    "fileurl", "url", "documenturl", "docurl", "link", "s3url", "s3link", "presignedurl",
    "signedurl", "imageurl", "fileurls", "filelink", "documentlink", "imagelink", "downloadurl",
    "uri", "href",
)  # fmt: skip
ID_NAMES = (
    "documentid", "docid", "id", "reference", "referenceid", "referenceno", "referencenumber",
    "refid", "refno", "ref", "fileid", "recordid", "externalid", "applicationid", "caseid",
)  # fmt: skip
_SAMPLE = 2000  # rows looked at when guessing by content
_URL_SHARE = 0.5  # a URL column: at least half its filled cells start with http(s)://
_ID_UNIQUE_SHARE = 0.9
_ID_MAX_MEDIAN_LEN = 64
_SEPARATORS = re.compile(r"[\s_\-.]+")
_CAMEL = re.compile(r"([a-z])([A-Z])")
_NON_WORD = re.compile(r"[\W_]+")
# Header words (see header_words) that say a column holds links.
_URL_WORDS = frozenset({"url", "urls", "link", "links", "uri", "href", "hyperlink", "weblink"})
# Words that make a header a document's reference on their own ('Applicant Ref', 'URN').
_REFERENCE_WORDS = frozenset({"ref", "refno", "refid", "reference", "urn", "crn", "docid"})
# '<thing> ID / No / Number': an ID when the thing is what a document belongs to.
_ID_TAILS = frozenset({"id", "no", "number", "num", "nbr", "code"})
_ENTITY_WORDS = frozenset({
    "app", "application", "applicant", "loan", "customer", "cust", "client", "lead", "case",
    "file", "document", "doc", "record", "kyc", "proposal", "policy", "agreement", "contract",
    "account", "acct", "form", "order", "ticket", "request", "borrower", "member", "prospect",
    "unique", "external", "transaction", "txn",
})  # fmt: skip
# Words of headers that are never the document ID: serial numbers, a person's other numbers,
# and things many documents share.
_NOT_ID_WORDS = frozenset({
    "sr", "sl", "s", "serial", "sno", "srno", "slno", "row", "line", "index", "idx", "seq",
    "sequence", "count", "mobile", "phone", "contact", "pin", "pincode", "zip", "aadhaar",
    "aadhar", "pan", "amount", "branch", "employee", "emp", "agent", "officer", "user", "staff",
    "batch", "upload", "page", "date", "dob", "age", "product", "type", "status",
})  # fmt: skip


def normalise_name(name: object) -> str:
    """A header name reduced for matching: 'Document-ID ' and 'document_id' both give 'documentid'."""
    return _SEPARATORS.sub("", str(name)).lower()


KNOWN_NAMES = frozenset(URL_NAMES) | frozenset(ID_NAMES)


def detect_columns(frame: pd.DataFrame) -> ColumnMapping:
    """Find the URL and ID columns by header, else by content; IntakeError when one cannot be found."""
    return resolve_columns(frame)


def resolve_columns(
    frame: pd.DataFrame, url_column: str | None = None, id_column: str | None = None
) -> ColumnMapping:
    """The column mapping, honouring the user's overrides (which must name existing columns)."""
    columns = [str(c) for c in frame.columns]
    url: str | None
    ident: str | None
    if url_column is not None:
        url, url_by, url_why = _override(columns, url_column, "URL"), "override", "you chose it"
    else:
        url, url_by, url_why = _url_column(frame, columns)
    if url is None:
        raise IntakeError(
            "No column with file URLs was found.",
            hint=f"Name the column 'file_url' or choose it yourself; the columns are: {_listing(columns)}.",
        )
    if id_column is not None:
        ident, id_by, id_why = _override(columns, id_column, "ID"), "override", "you chose it"
    else:
        ident, id_by, id_why = _id_column(frame, [c for c in columns if c != url])
    if ident is None:
        raise IntakeError(
            "No column with document IDs was found.",
            hint=f"Name the column 'document_id' or choose it yourself; the columns are: {_listing(columns)}.",
        )
    if ident == url:
        raise IntakeError(
            f"The same column {url!r} was chosen for both the URL and the document ID.",
            hint=f"Choose two different columns among: {_listing(columns)}.",
        )
    return ColumnMapping(url, ident, url_by, id_by, url_why, id_why)


def header_words(name: object) -> tuple[str, ...]:
    """A header split into lower-case words: 'ApplicantRef', 'applicant_ref' -> ('applicant', 'ref')."""
    text = _CAMEL.sub(r"\1 \2", str(name)).replace("#", " no ")
    return tuple(w for w in _NON_WORD.split(text.lower()) if w)


def _url_column(frame: pd.DataFrame, columns: list[str]) -> tuple[str | None, str, str]:
    url = _by_name(columns, URL_NAMES)
    if url is not None:
        return url, "name", f"its header {url!r} is a usual name for file links"
    for column in columns:
        words = set(header_words(column))
        if words & _URL_WORDS and _url_share(frame, column) >= _URL_SHARE:
            return column, "name", f"its header {column!r} says it holds links"
    url = _url_by_content(frame, columns)
    share = _url_share(frame, url) if url is not None else 0.0
    return url, "content", f"no header names it, and {share:.0%} of its cells are web links"


def _id_column(frame: pd.DataFrame, columns: list[str]) -> tuple[str | None, str, str]:
    """(column, found_by, why): by name, by header words, then by content.

    Candidates are ranked, whatever the column order: a header before the cells; then a column
    running 1, 2, 3, ... (a serial number) after every other; then an exact name before a match
    of header words. A column found by its cells is "content": the page asks to confirm it.
    """
    candidates: list[tuple[int, int, int, str, str, str]] = []
    for position, column in enumerate(columns):
        normal = normalise_name(column)
        if normal in ID_NAMES:
            candidates.append((0, ID_NAMES.index(normal), position, column, "name",
                               f"its header {column!r} is a usual name for document IDs"))  # fmt: skip
            continue
        tier = _id_header_tier(header_words(column))
        if tier is not None and _mostly_unique(frame, column):
            candidates.append((tier, 0, position, column, "name",
                               f"its header {column!r} reads like a document reference"))  # fmt: skip
    named = {c[3] for c in candidates}
    for position, column in enumerate(columns):
        if column not in named and _id_like_content(frame, column):
            candidates.append((9, 0, position, column, "content",
                               "no header names it; its cells are all different and short, like IDs"))  # fmt: skip
    if not candidates:
        return None, "content", ""
    ranked = sorted(candidates, key=lambda c: (c[4] == "content", _is_serial(frame, c[3]), c[:3]))
    _, _, _, column, found_by, why = ranked[0]
    if found_by == "content" and _is_serial(frame, column):
        why = ("its cells run 1, 2, 3, ... like a serial number; it was taken only because no "
               "other column looks like a document ID")  # fmt: skip
    return column, found_by, why


def _id_header_tier(words: tuple[str, ...]) -> int | None:
    """1 for a header that names a document's reference ('Applicant Ref', 'Loan ID', 'App No'),
    2 for another '... ID', None for anything else (serial numbers, phone numbers, branches)."""
    if not words or set(words) & (_NOT_ID_WORDS | _URL_WORDS):
        return None
    # One run-together word ('APPNO', 'LOANID') is read as its two halves.
    if len(words) == 1:
        for tail in _ID_TAILS:
            head = words[0][: -len(tail)]
            if words[0].endswith(tail) and head in _ENTITY_WORDS | _REFERENCE_WORDS:
                words = (head, tail)
                break
    if set(words) & _REFERENCE_WORDS:
        return 1
    if words[-1] in _ID_TAILS and set(words[:-1]) & _ENTITY_WORDS:
        return 1
    if words[-1] == "id":
        return 2
    return None


def _override(columns: list[str], wanted: str, what: str) -> str:
    if wanted in columns:
        return wanted
    loose = [c for c in columns if normalise_name(c) == normalise_name(wanted)]
    if len(loose) == 1:
        return loose[0]
    raise IntakeError(
        f"There is no column named {wanted!r} to use as the {what} column.",
        hint=f"The columns are: {_listing(columns)}.",
    )


def _by_name(columns: list[str], names: tuple[str, ...]) -> str | None:
    ranked = [
        (names.index(normalise_name(c)), i, c)
        for i, c in enumerate(columns)
        if normalise_name(c) in names
    ]
    return min(ranked)[2] if ranked else None


def _filled(frame: pd.DataFrame, column: str) -> pd.Series:
    values = frame[column].iloc[:_SAMPLE]
    return values[values.str.strip() != ""]


def _url_share(frame: pd.DataFrame, column: str) -> float:
    filled = _filled(frame, column)
    if filled.empty:
        return 0.0
    return float(filled.str.contains(r"^\s*https?://", case=False, regex=True).mean())


def _url_by_content(frame: pd.DataFrame, columns: list[str]) -> str | None:
    best, best_share = None, _URL_SHARE
    for column in columns:
        if _filled(frame, column).empty:
            continue
        share = _url_share(frame, column)
        if share >= best_share and (best is None or share > best_share):
            best, best_share = column, share
    return best


def _mostly_unique(frame: pd.DataFrame, column: str) -> bool:
    filled = _filled(frame, column)
    return filled.empty or filled.nunique() / len(filled) >= _ID_UNIQUE_SHARE


def _id_like_content(frame: pd.DataFrame, column: str) -> bool:
    values = frame[column].iloc[:_SAMPLE]
    filled = values[values.str.strip() != ""]
    if len(filled) < max(1, len(values) // 2):
        return False
    if filled.nunique() / len(filled) < _ID_UNIQUE_SHARE:
        return False
    if filled.str.len().median() > _ID_MAX_MEDIAN_LEN:
        return False
    return not filled.str.contains(r"^\s*https?://", case=False, regex=True).any()


def _is_serial(frame: pd.DataFrame, column: str) -> bool:
    """Whether the column's first cells run 0 or 1, then up by one (plain digits, no padding)."""
    values = frame[column].iloc[:_SAMPLE].str.strip()
    if len(values) < 2 or not values.str.fullmatch(r"[1-9]\d{0,8}|0").all():
        return False
    numbers = values.astype("int64").to_numpy()
    return bool(numbers[0] in (0, 1) and (np.diff(numbers) == 1).all())


def _listing(columns: list[str]) -> str:
    shown = ", ".join(repr(c) for c in columns[:30])
    return shown + (f" and {len(columns) - 30} more" if len(columns) > 30 else "")
