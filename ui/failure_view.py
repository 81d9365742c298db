"""An upload's failures on its card: reasons with counts, what to fix, what a retry may help.

The rule that tells the two kinds apart is atlas_core.results.failures (the CLI's retry-failed
uses the same one). Reasons quote Atlas: they are shown in a dataframe (never Markdown).
"""

from __future__ import annotations

import streamlit as st

from atlas_core.ledger import Ledger
from atlas_core.ledger.rows import UploadRow
from atlas_core.printable import printable
from atlas_core.results import failed_documents_file
from atlas_core.results.failures import (
    FIX,
    KIND_LABELS,
    RETRY,
    FailureReason,
    count_of,
    explain_failures,
    needs_fixing,
)


def reasons(ledger: Ledger, upload: UploadRow) -> list[FailureReason]:
    """The upload's failure reasons, most documents first (none when nothing failed)."""
    if not upload.get("failed"):
        return []
    return explain_failures(ledger.failure_reasons(int(upload["id"])))


def retriable_count(found: list[FailureReason]) -> int:
    """How many failed documents a retry may help."""
    return count_of(found, RETRY)


def breakdown(ledger: Ledger, upload: UploadRow, found: list[FailureReason]) -> None:
    """The reasons table and, when some need fixing, their file in the sheet's own columns."""
    if not found:
        return
    to_fix, to_retry = count_of(found, FIX), count_of(found, RETRY)
    parts = []
    if to_fix:
        parts.append(f"{to_fix:,} need their file or link fixed")
    if to_retry:
        parts.append(f"{to_retry:,} may work if retried")
    st.markdown("; ".join(parts).capitalize() + ".")
    st.dataframe(
        [
            {"Reason": printable(r.reason, one_line=True), "Documents": r.documents,
             "What to do": KIND_LABELS[r.kind]}
            for r in found
        ],
        hide_index=True,
        width="stretch",
        column_config={
            "Reason": st.column_config.TextColumn("Reason", width="large"),
            "Documents": st.column_config.NumberColumn("Documents", format="localized"),
            "What to do": st.column_config.TextColumn("What to do", width="medium"),
        },
        key=f"failure_reasons_{upload['id']}",
    )
    if to_fix:
        upload_id = int(upload["id"])
        st.download_button(
            f"Download the {to_fix:,} to fix (CSV, your sheet's columns)",
            lambda: failed_documents_file(
                ledger.iter_upload_rows(upload_id),
                ledger.iter_documents(upload_id=upload_id, include_superseded=True),
                columns=upload.get("columns") or None,
                states=("failed",),
                keep=needs_fixing,
            ),
            file_name=f"upload-{upload_id}-to-fix.csv",
            mime="text/csv",
            key=f"download_to_fix_{upload_id}",
            icon=":material/download:",
            on_click="ignore",
        )
