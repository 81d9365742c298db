"""Results page glue: filter choices, the highlighted documents table, one document's detail, downloads."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pandas as pd
import streamlit as st

from atlas_core.errors import AtlasError
from atlas_core.ledger import Ledger
from atlas_core.ledger.rows import (
    DocumentDetail,
    DocumentListed,
    FieldConfidence,
    TypeStateCount,
    UploadRow,
)
from atlas_core.results import (
    documents_frame,
    failed_documents_file,
    field_triples,
    reconcile_upload,
)
from atlas_core.results.downloads import (
    DocumentFilters,
    download_label,
    write_filtered,
    write_upload_sheet,
)
from atlas_core.results.flatten import CONFIDENCE_SUFFIX

if TYPE_CHECKING:  # pandas' Styler (and jinja2) load when a table is styled
    from pandas.io.formats.style import Styler

logger = logging.getLogger(__name__)

AGGREGATE_TTL = (
    15  # seconds: charts over the whole ledger may lag a little; every slider move reruns
)
LOW_CONFIDENCE_STYLE = "background-color: #fde2e1; color: #8a1c1c"
ALL = "All"


@st.cache_data(ttl=AGGREGATE_TTL, show_spinner=False)
def confidence_summary(
    _ledger: Ledger, db_path: str, upload_id: int | None, document_type: str | None,
    target: str | None = None,
) -> list[FieldConfidence]:
    """Per-field confidence histograms (20 bins) over the ledger's bounded sample, cached briefly.

    ``target`` only keys the cache: another Atlas's figures are never served from it.
    """
    return _ledger.field_confidence(upload_id=upload_id, document_type=document_type, bins=20)


@st.cache_data(ttl=AGGREGATE_TTL, show_spinner=False)
def type_state_counts(
    _ledger: Ledger, db_path: str, upload_id: int | None, target: str | None = None
) -> list[TypeStateCount]:
    """Documents per (type, state), cached briefly (``target`` keys the cache, as above)."""
    return _ledger.counts_by_type_and_state(upload_id=upload_id)


def upload_choices(ledger: Ledger, limit: int = 200) -> dict[str, int | None]:
    """'All uploads' plus the newest uploads: stable label -> upload id (None for all)."""
    uploads, _ = ledger.list_uploads(limit=limit)
    choices: dict[str, int | None] = {"All uploads": None}
    for u in uploads:
        who = f" · {u['submitted_by']}" if u.get("submitted_by") else ""
        choices[f"Upload {u['id']} · {u.get('file_name') or ''}{who}"] = int(u["id"])
    return choices


def batch_choices(ledger: Ledger, upload_id: int | None, limit: int = 200) -> list[str]:
    """'All' plus the batch ids of an upload (or the newest batches)."""
    batches, _ = ledger.batches_overview(upload_id=upload_id, limit=limit)
    return [ALL, *(b["batch_id"] for b in batches)]


def type_choices(counts: list[TypeStateCount]) -> list[str]:
    """'All' plus the document types present."""
    return [ALL, *sorted({str(c["document_type"]) for c in counts if c.get("document_type")})]


def documents_table(rows: list[DocumentListed]) -> pd.DataFrame:
    """The page's documents with every field flattened, as exported (formulas neutralised, since
    the table's own toolbar can download it as CSV)."""
    return documents_frame(rows, "wide", neutralise=True)


FIRST_COLUMNS = ("document_id", "status", "document_type", "error")
LAST_COLUMNS = ("batch_id", "file_url")


def column_order(frame: pd.DataFrame) -> list[str]:
    """Who and what first, then the fields, then where it came from (batch and file URL)."""
    first = [c for c in FIRST_COLUMNS if c in frame.columns]
    last = [c for c in LAST_COLUMNS if c in frame.columns]
    return first + [c for c in frame.columns if c not in first and c not in last] + last


def highlight_low_confidence(frame: pd.DataFrame, threshold: float) -> Styler:
    """A Styler marking each field value (and its confidence) below the threshold."""

    def style(table: pd.DataFrame) -> pd.DataFrame:
        styles = pd.DataFrame("", index=table.index, columns=table.columns)
        for column in table.columns:
            if not column.endswith(CONFIDENCE_SUFFIX):
                continue
            low = pd.to_numeric(table[column], errors="coerce") < threshold
            styles.loc[low, column] = LOW_CONFIDENCE_STYLE
            value_column = column[: -len(CONFIDENCE_SUFFIX)]
            if value_column in styles.columns:
                styles.loc[low, value_column] = LOW_CONFIDENCE_STYLE
        return styles

    confidences = [c for c in frame.columns if c.endswith(CONFIDENCE_SUFFIX)]
    return frame.style.apply(style, axis=None).format(
        {c: _two_places for c in confidences}, na_rep=""
    )


def _two_places(value: Any) -> str:
    # A confidence Atlas sent as text stays as it came; numbers get two decimals.
    return f"{value:.2f}" if isinstance(value, int | float) else str(value)


def fields_table(detail: DocumentDetail) -> pd.DataFrame:
    """One document's fields, flattened as in the exports: name, value (as text) and confidence."""
    return pd.DataFrame(
        field_triples(detail.get("file_data")), columns=["Field", "Value", "Confidence"]
    )


def highlight_low_rows(fields: pd.DataFrame, threshold: float) -> Styler:
    """A Styler marking the fields whose confidence is below the threshold."""

    def style(row: pd.Series) -> list[str]:
        low = pd.notna(row["Confidence"]) and row["Confidence"] < threshold
        return [LOW_CONFIDENCE_STYLE if low else ""] * len(row)

    return fields.style.apply(style, axis=1).format({"Confidence": "{:.2f}"}, na_rep="—")


def _safe(make: Callable[[], bytes], what: str) -> Callable[[], bytes]:
    # Deferred downloads run outside the script: an error must still read as a sentence.
    def run() -> bytes:
        try:
            return make()
        except AtlasError:
            raise
        except Exception:
            logger.exception("Could not make %s", what)
            raise RuntimeError(
                f"The {what} could not be made; reload the page and try again."
            ) from None

    return run

_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def download_makers(
    ledger: Ledger,
    upload: UploadRow | None,
    filters: DocumentFilters,
    total: int,
    review_below: float,
) -> dict[str, tuple[str, str, Callable[[], bytes]]]:
    """Each download: key -> (label, file name, a function making its bytes on click).

    One upload chosen: its own sheet with results first (every row, whatever the filters).
    Then the documents the page's filters list, as many as the page counts (``total``).
    """
    upload_id = int(upload["id"]) if upload else None
    columns = (upload.get("columns") or None) if upload else None
    stem = f"upload-{upload_id}" if upload_id else "all-uploads"
    if filters.batch_id:  # Atlas's id: only characters every file system and browser take as they are
        stem += "-" + (_UNSAFE_NAME.sub("_", filters.batch_id).strip("._") or "batch")[:80]
    documents_stem = stem + ("-filtered" if filters.narrowed else "")

    def documents(fmt: str, layout: str) -> Callable[[], bytes]:
        def make() -> bytes:
            buffer = io.BytesIO()
            write_filtered(ledger, filters, buffer, fmt=fmt, layout=layout, review_below=review_below)
            return buffer.getvalue()

        return make

    def own_sheet(fmt: str) -> Callable[[], bytes]:
        def make() -> bytes:
            buffer = io.BytesIO()
            assert upload_id is not None
            write_upload_sheet(ledger, upload_id, buffer, fmt=fmt, review_below=review_below)
            return buffer.getvalue()

        return make

    makers: dict[str, tuple[str, str, Callable[[], bytes]]] = {}
    if upload is not None and upload_id is not None:
        rows = f"{int(upload.get('rows_total') or 0):,} rows"
        makers["download_sheet_xlsx"] = (
            f"My sheet with results: {rows} (Excel)", f"{stem}-my-sheet.xlsx", own_sheet("xlsx")
        )
        makers["download_sheet_csv"] = (
            f"My sheet with results: {rows} (CSV)", f"{stem}-my-sheet.csv", own_sheet("csv")
        )
    makers["download_csv_wide"] = (
        download_label(total, filters, "csv", "one row each"),
        f"{documents_stem}.csv",
        documents("csv", "wide"),
    )
    makers["download_csv_long"] = (
        download_label(total, filters, "csv", "one row per field"),
        f"{documents_stem}-fields.csv",
        documents("csv", "long"),
    )
    makers["download_xlsx"] = (
        download_label(total, filters, "xlsx"), f"{documents_stem}.xlsx", documents("xlsx", "wide")
    )
    makers["download_json"] = (
        download_label(total, filters, "json"), f"{documents_stem}.json", documents("json", "wide")
    )
    if upload_id is not None:
        makers["download_reconciliation"] = (
            "Reconciliation report (CSV)",
            f"{stem}-reconciliation.csv",
            lambda: reconcile_upload(ledger, upload_id, upload.get("file_name") if upload else None).csv(),
        )
        makers["download_failed"] = (
            "Failed documents (CSV)",
            f"{stem}-failed.csv",
            lambda: failed_documents_file(
                ledger.iter_upload_rows(upload_id),
                ledger.iter_documents(upload_id=upload_id, include_superseded=True),
                columns=columns,
            ),
        )
    return {
        key: (label, name, _safe(make, label.lower()))
        for key, (label, name, make) in makers.items()
    }
