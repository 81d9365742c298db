"""Downloads of what the ledger holds, as the Results page and the CLI ask for them.

``DocumentFilters`` are the page's filters (upload, batch, type, state, confidence range, only
documents that need review, one ID); a download streams exactly the documents they list. One
upload's downloads carry its sheet's columns and headers; a download over every upload names
the ID ``document_id`` and adds ``upload_id`` (sheets differ between uploads).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import IO, TYPE_CHECKING, Any

from ..config import DEFAULT_REVIEW_THRESHOLD
from ..errors import AtlasError
from .export import write_documents, write_sheet
from .layout import SheetColumns

if TYPE_CHECKING:
    from ..ledger import Ledger

Target = str | os.PathLike[str] | IO[bytes]
FORMAT_NAMES = {"csv": "CSV", "xlsx": "Excel", "json": "JSON"}


@dataclass(frozen=True)
class DocumentFilters:
    """Which documents a download holds: the Results page's filters (None: not filtered)."""

    upload_id: int | None = None
    batch_id: str | None = None
    document_type: str | None = None
    state: str | None = None
    min_confidence: float | None = None
    max_confidence: float | None = None
    needs_review_below: float | None = None
    search: str | None = None

    @property
    def narrowed(self) -> bool:
        """True when anything beyond the upload narrows the documents."""
        return any(v is not None for k, v in asdict(self).items() if k != "upload_id")

    def ledger_args(self) -> dict[str, Any]:
        """The filters as ``Ledger.iter_documents`` takes them."""
        args = asdict(self)
        state = args.pop("state")
        return args | {"states": [state] if state else None}


def sheet_columns(
    ledger: Ledger, upload_id: int | None, review_below: float = DEFAULT_REVIEW_THRESHOLD
) -> SheetColumns:
    """One upload's sheet columns (every upload's downloads: none, and ``upload_id``)."""
    if upload_id is None:
        return SheetColumns(several_uploads=True, review_below=review_below)
    upload = ledger.upload(upload_id)
    if upload is None:
        raise AtlasError(f"There is no upload {upload_id}.", hint="`status` lists the uploads.")
    return SheetColumns.of_uploads([upload], review_below)


def write_filtered(
    ledger: Ledger,
    filters: DocumentFilters,
    target: Target,
    *,
    fmt: str = "csv",
    layout: str = "wide",
    review_below: float = DEFAULT_REVIEW_THRESHOLD,
) -> int:
    """Write the documents the filters list (wide, long or JSON); returns the rows written."""
    sheet = sheet_columns(ledger, filters.upload_id, review_below)
    rows = ledger.iter_documents(**filters.ledger_args(), with_sheet=filters.upload_id is not None)
    return write_documents(rows, target, fmt=fmt, layout=layout, sheet=sheet)


def write_upload_sheet(
    ledger: Ledger,
    upload_id: int,
    target: Target,
    *,
    fmt: str = "csv",
    review_below: float = DEFAULT_REVIEW_THRESHOLD,
) -> int:
    """Write one upload's spreadsheet with its results (every row, in order); returns rows."""
    sheet = sheet_columns(ledger, upload_id, review_below)
    return write_sheet(ledger.iter_sheet(upload_id), target, fmt=fmt, sheet=sheet)


def download_label(count: int, filters: DocumentFilters, fmt: str, what: str = "") -> str:
    """The button's words: how many documents, and whether the page's filters chose them."""
    noun = "document" if count == 1 else "documents"
    scope = "filtered " if filters.narrowed else ("" if filters.upload_id else "all ")
    detail = f", {what}" if what else ""
    return f"Download {count:,} {scope}{noun} ({FORMAT_NAMES.get(fmt, fmt)}{detail})"
