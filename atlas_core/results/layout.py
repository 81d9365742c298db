"""Which columns every download has, in which order, and the cells a document gives them.

Wide and long downloads: the sheet's ID column (under the sheet's own header, e.g.
"Applicant Ref") and the sheet ``row`` first, ``upload_id`` when several uploads are in one
file, the sheet's own other columns carried through, then ``status``, ``needs_review``,
``lowest_confidence``, ``document_type``, ``error``, the fields, and the long texts last: the
file URL (under the sheet's URL header), other URLs (``*_url`` fields), ``batch_id``.

The sheet download: the sheet's columns as it was read, in its order, then the same result
columns and the fields. In both, a result column whose name is one of the sheet's (in any case
and spacing) gets ``atlas_`` in front, so no sheet column is ever overwritten.

``fields_of`` is the one place a document's fields are taken for any download: reviewers'
corrections apply there.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from ..config import DEFAULT_REVIEW_THRESHOLD
from ..ledger.states import EXTRACTED, OUTCOME_OF_DOCUMENT, REVIEW_REJECTED, row_outcome
from .corrections import apply_corrections, review_fields
from .flatten import parse_file_data, to_cell

ROW_COLUMN = "row"
UPLOAD_COLUMN = "upload_id"
BATCH_COLUMN = "batch_id"
RESULT_COLUMNS: tuple[str, ...] = (
    "status",
    "needs_review",
    "lowest_confidence",
    "document_type",
    "error",
    "corrected_fields",  # the fields a person corrected (results/corrections.py)
)
CLASH_PREFIX = "atlas_"
YES, NO = "yes", "no"
REJECTED_BY_REVIEWER = "rejected"  # needs_review of a document a person rejected
URL_SUFFIX = "_url"


@dataclass(frozen=True)
class SheetColumns:
    """What a download knows of the sheet its documents came from, and the review threshold."""

    id_header: str = "document_id"
    url_header: str = "file_url"
    columns: tuple[str, ...] = ()  # the sheet's own header, in its order
    several_uploads: bool = False  # adds upload_id: a row number alone is ambiguous then
    review_below: float = DEFAULT_REVIEW_THRESHOLD
    carried: tuple[str, ...] = field(init=False)  # the sheet's columns besides its ID and URL

    def __post_init__(self) -> None:
        skip = {self.id_header, self.url_header}
        object.__setattr__(self, "carried", tuple(c for c in self.columns if c not in skip))

    @classmethod
    def of_uploads(
        cls, uploads: Sequence[Mapping[str, Any]], review_below: float = DEFAULT_REVIEW_THRESHOLD
    ) -> SheetColumns:
        """The sheet columns of one upload, or the union of several uploads' (in upload order).

        The ID and URL columns keep the sheet's headers when every upload names them alike.
        """
        ids = {u.get("id_column") for u in uploads if u.get("id_column")}
        urls = {u.get("url_column") for u in uploads if u.get("url_column")}
        union: dict[str, None] = {}
        for upload in uploads:
            union.update(dict.fromkeys(str(c) for c in upload.get("columns") or ()))
        return cls(
            id_header=str(ids.pop()) if len(ids) == 1 else "document_id",
            url_header=str(urls.pop()) if len(urls) == 1 else "file_url",
            columns=tuple(union),
            several_uploads=len(uploads) != 1,
            review_below=review_below,
        )


def _fold(name: str) -> str:
    return " ".join(str(name).split()).casefold()


def unclashed(names: Iterable[str], taken: Iterable[str]) -> list[str]:
    """``names`` with ``atlas_`` (then a number) in front of each that a ``taken`` name matches
    in any case and spacing, or that came earlier in ``names``."""
    seen = {_fold(t) for t in taken}
    out = []
    for name in names:
        candidate, n = name, 1
        while _fold(candidate) in seen:
            candidate = f"{CLASH_PREFIX}{name}" if n == 1 else f"{CLASH_PREFIX}{n}_{name}"
            n += 1
        seen.add(_fold(candidate))
        out.append(candidate)
    return out


def needs_review(state: Any, lowest: Any, review_below: float, decided: Any = None) -> str | None:
    """"yes" when an extracted document's lowest confidence is under the threshold, "no" for
    another extracted one, None for a document with no result (as the page's filter decides).

    A person's decision wins: "no" once they confirmed or corrected it, "rejected" when they
    rejected it (Atlas's values stay in the file, so the rejection must show beside them).
    """
    if state != EXTRACTED:
        return None
    if decided is not None:
        return REJECTED_BY_REVIEWER if decided == REVIEW_REJECTED else NO
    if type(lowest) is float or type(lowest) is int:
        return YES if lowest < review_below else NO
    return NO


def fields_of(row: Mapping[str, Any]) -> Any:
    """The ``file_data`` a download shows for one document row: Atlas's answer as stored.

    The one place every layout takes a document's fields from (reviewers' corrections apply
    here, so every download shows the final value).
    """
    file_data = row.get("file_data")
    if type(file_data) is not dict:  # the ledger gives it parsed; other callers may not
        file_data = parse_file_data(file_data)
    corrections = row.get("corrections")  # rows with_corrections has not taken (the sheet's)
    return apply_corrections(file_data, corrections) if corrections else file_data


def corrected_fields(row: Mapping[str, Any], file_data: Any = None) -> str | None:
    """The fields a person corrected, comma-separated in field order (None when none)."""
    named = row.get("corrected_fields")
    corrections = row.get("corrections")
    if named is None and corrections:
        named = ", ".join(s.name for s in review_fields(file_data, row.get("document_type")) if s.name in corrections)
    return named or None


_OUTCOMES = OUTCOME_OF_DOCUMENT
_RESULT_KEYS = itemgetter("state", "min_confidence", "document_type", "error")


def result_cells(row: Mapping[str, Any], file_data: Any, review_below: float) -> list[Any]:
    """``RESULT_COLUMNS`` of one document row: status word, needs_review, lowest confidence,
    document type, error, corrected fields."""
    try:  # a ledger row has every key: one call takes the four
        state, lowest, doc_type, error = _RESULT_KEYS(row)
    except KeyError:
        state = row.get("state", row.get("status"))
        lowest, doc_type, error = row.get("min_confidence"), row.get("document_type"), row.get("error")
    if doc_type is None and type(file_data) is dict:
        doc_type = file_data.get("document_type")
    return [
        _OUTCOMES.get(state) or (row_outcome(state) if state is not None else None),
        needs_review(state, lowest, review_below, row.get("review")),
        lowest if lowest is None or type(lowest) is float else to_cell(lowest),
        doc_type if doc_type is None or type(doc_type) is str else to_cell(doc_type),
        error if error is None or type(error) is str else to_cell(error),
        corrected_fields(row, file_data),
    ]


def is_url_column(column: str) -> bool:
    """A field column holding a link (``aadhaar_number_redact_url``): placed with the long texts."""
    return column.endswith(URL_SUFFIX)
