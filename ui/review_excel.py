"""Review in Excel: download the queue, fix it offline, upload it, see every changed cell, apply.

Nothing from an uploaded file reaches the ledger before the reviewer has seen the cell-by-cell
difference and pressed Apply. The check (atlas_core.review.check_import) is kept in session state
under the uploaded file's id, so Apply applies exactly the changes that were shown, and a new
file starts a new check. Apply re-checks each document against the ledger as it writes
(apply_import): a document someone reviewed since the file was made is refused, not overwritten.
"""

from __future__ import annotations

import io

import pandas as pd
import streamlit as st

from atlas_core.ledger import Ledger
from atlas_core.neutralise import csv_cell
from atlas_core.review import ImportCheck, ReviewPolicy, apply_import, check_import, write_queue

from . import review_queue as queue
from . import state, untrusted

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOWN_ROWS = 1_000  # rows of the difference drawn; the rest are counted (and all applied)
_CHECK = "review_import_check"  # (uploaded file id, ImportCheck)
_APPLIED = "review_imports_applied"  # files applied this session; renews the uploader


def section(ledger: Ledger, who: str, rule: ReviewPolicy) -> None:
    """The download, the upload, the difference and the Apply button."""
    st.caption(
        "The file holds one row per document still to review and one column per field, Atlas's "
        "confidence beside each value. Change values in the field columns only, keep the "
        "document and version columns, and upload it here: every changed cell is checked and "
        "shown before anything is saved."
    )
    st.download_button(
        "Download the review queue (Excel)",
        lambda: _queue_file(ledger, rule),
        file_name="review-queue.xlsx",
        mime=XLSX,
        key="review_download",
        icon=":material/download:",
        on_click="ignore",  # made when clicked; a download needs no rerun
    )
    uploaded = st.file_uploader(
        "Upload the corrected review queue (.xlsx)",
        type=["xlsx"],
        key=f"{state.REVIEW_IMPORT_FILE}_{st.session_state.get(_APPLIED, 0)}",
    )
    if uploaded is None:
        st.session_state.pop(_CHECK, None)
        return
    check = _checked(ledger, rule, uploaded.file_id, uploaded.getvalue())
    show(check)
    if check.changes:
        st.button(
            f"Apply {len(check.changes):,} checked change(s)",
            key="review_apply",
            type="primary",
            icon=":material/done_all:",
            on_click=_apply,
            args=(ledger, who),
            help="Saved as your corrections; refused cells are left as they are.",
        )


def _queue_file(ledger: Ledger, rule: ReviewPolicy) -> bytes:
    out = io.BytesIO()
    write_queue(ledger, out, rule)
    return out.getvalue()


def _checked(ledger: Ledger, rule: ReviewPolicy, file_id: str, data: bytes) -> ImportCheck:
    cached = st.session_state.get(_CHECK)
    if cached and cached[0] == file_id:
        return cached[1]
    check = check_import(ledger, data, rule)  # an unreadable file raises: the page says why
    st.session_state[_CHECK] = (file_id, check)
    return check


def show(check: ImportCheck) -> None:
    """The check in words, then each changed cell (old and new), then each refused one and why."""
    if check.changes:
        st.markdown(f"**{untrusted.text(check.summary())}** Nothing is saved until you press Apply.")
        st.dataframe(_changes_frame(check), hide_index=True, width="stretch")
    else:
        st.info(
            f"{check.summary()} No cell differs from the ledger: there is nothing to apply.",
            icon=":material/info:",
        )
    if len(check.changes) > SHOWN_ROWS:
        st.caption(f"The first {SHOWN_ROWS:,} changes are shown; Apply applies all {len(check.changes):,}.")
    if check.refused:
        st.markdown("**Cells that will not be applied**, and why:")
        st.dataframe(_refused_frame(check), hide_index=True, width="stretch")


def _changes_frame(check: ImportCheck) -> pd.DataFrame:
    # csv_cell: the table's own toolbar can download it as CSV, where a formula must stay text.
    return pd.DataFrame(
        [
            {
                "Row": c.row,
                "Document": csv_cell(c.document_id),
                "Field": csv_cell(c.field),
                "Now": csv_cell(c.old),
                "Your file": csv_cell(c.new),
            }
            for c in check.changes[:SHOWN_ROWS]
        ]
    )


def _refused_frame(check: ImportCheck) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "Row": r.row,
                "Document": csv_cell(r.document_id or ""),
                "Column": csv_cell(r.column or "(the whole row)"),
                "Value": csv_cell(r.value or ""),
                "Why": csv_cell(r.reason),
            }
            for r in check.refused[:SHOWN_ROWS]
        ]
    )


def _apply(ledger: Ledger, who: str) -> None:
    cached = st.session_state.pop(_CHECK, None)
    if not cached:
        queue.say("warning", "Upload the file again: its check is no longer here, so nothing was saved.")
        return
    check: ImportCheck = cached[1]
    refused_before = len(check.refused)
    try:
        done = apply_import(ledger, check, who)
    except Exception as exc:  # noqa: BLE001 - a callback's error would be a traceback
        queue.say("error", queue.plain_error(exc, "applying the corrections from your file"))
        return
    documents = len({c.document for c in done.applied})
    late = len(done.refused) - refused_before
    note = (
        f" {late:,} cell(s) were not applied: their document was reviewed or changed since the file was made."
        if late
        else ""
    )
    queue.say(
        "success" if not late else "warning",
        f"Applied {len(done.applied):,} change(s) to {documents:,} document(s) from your file.{note}",
    )
    # A new uploader widget: the applied file is not checked (and offered) again.
    st.session_state[_APPLIED] = st.session_state.get(_APPLIED, 0) + 1
