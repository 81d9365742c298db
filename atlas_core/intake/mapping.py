"""Finding the URL and ID columns: by header name first, then by what the cells hold."""

from __future__ import annotations

import re

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


def normalise_name(name: object) -> str:
    """A header name reduced for matching: 'Document-ID ' and 'document_id' both give 'documentid'."""
    return _SEPARATORS.sub("", str(name)).lower()


KNOWN_NAMES = frozenset(URL_NAMES) | frozenset(ID_NAMES)


def detect_columns(frame: pd.DataFrame) -> ColumnMapping:
    """Find the URL and ID columns by name, else by content; IntakeError when one cannot be found."""
    return resolve_columns(frame)


def resolve_columns(
    frame: pd.DataFrame, url_column: str | None = None, id_column: str | None = None
) -> ColumnMapping:
    """The column mapping, honouring the user's overrides (which must name existing columns)."""
    columns = [str(c) for c in frame.columns]
    url: str | None
    ident: str | None
    if url_column is not None:
        url, url_by = _override(columns, url_column, "URL"), "override"
    else:
        url, url_by = _by_name(columns, URL_NAMES), "name"
        if url is None:
            url, url_by = _url_by_content(frame, columns), "content"
    if url is None:
        raise IntakeError(
            "No column with file URLs was found.",
            hint=f"Name the column 'file_url' or choose it yourself; the columns are: {_listing(columns)}.",
        )
    if id_column is not None:
        ident, id_by = _override(columns, id_column, "ID"), "override"
    else:
        ident, id_by = _by_name([c for c in columns if c != url], ID_NAMES), "name"
        if ident is None:
            ident, id_by = _id_by_content(frame, [c for c in columns if c != url]), "content"
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
    return ColumnMapping(url, ident, url_by, id_by)


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


def _url_by_content(frame: pd.DataFrame, columns: list[str]) -> str | None:
    best, best_share = None, _URL_SHARE
    for column in columns:
        values = frame[column].iloc[:_SAMPLE]
        filled = values[values.str.strip() != ""]
        if filled.empty:
            continue
        share = float(filled.str.contains(r"^\s*https?://", case=False, regex=True).mean())
        if share >= best_share and (best is None or share > best_share):
            best, best_share = column, share
    return best


def _id_by_content(frame: pd.DataFrame, columns: list[str]) -> str | None:
    for column in columns:
        values = frame[column].iloc[:_SAMPLE]
        filled = values[values.str.strip() != ""]
        if len(filled) < max(1, len(values) // 2):
            continue
        if filled.nunique() / len(filled) < _ID_UNIQUE_SHARE:
            continue
        if filled.str.len().median() > _ID_MAX_MEDIAN_LEN:
            continue
        if filled.str.contains(r"^\s*https?://", case=False, regex=True).any():
            continue
        return column
    return None


def _listing(columns: list[str]) -> str:
    shown = ", ".join(repr(c) for c in columns[:30])
    return shown + (f" and {len(columns) - 30} more" if len(columns) > 30 else "")
