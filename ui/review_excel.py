"""Review in Excel: download the queue, fix it offline, upload it, see every changed cell, apply.

Nothing from an uploaded file reaches the ledger before the reviewer has seen the cell-by-cell
difference and pressed Apply; the check is kept in session state under the file's id, so the
Apply button applies exactly the changes that were shown, and a new file starts a new check.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from atlas_core.ledger import Ledger
from atlas_core.neutralise import csv_cell
from atlas_core.review import ReviewPolicy

from . import review_queue as queue
from . import state, untrusted

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SHOWN_CHANGES = 1_000  # rows of the difference drawn; the rest are counted (and all applied)


def section(ledger: Ledger, who: str, rule: ReviewPolicy) -> None:
    """The download, the upload, the difference and the Apply button."""
    from atlas_core.review import write_queue

    st.caption(
        "One row per document still to review, one column per field, Atlas's confidence beside "
        "each value. Change values in the field columns only; keep the ID and version columns."
    )
    st.download_button(
        "Download the review queue (Excel)",
        lambda: write_queue(ledger, rule),
        file_name="review-queue.xlsx",
        mime=XLSX,
        key="review_download",
        icon=":material/download:",
        on_click="ignore",
    )
    uploaded = st.file_uploader(
        "Upload the corrected review queue", type=["xlsx"], key=state.REVIEW_IMPORT_FILE
    )
    if uploaded is None:
        st.session_state.pop(_CHECK, None)
        return
    check = _checked(ledger, uploaded.file_id, uploaded.getvalue(), uploaded.name)
    _show(check)
    if check.changes and not check.refused:
        st.button(
            f"Apply {len(check.changes):,} change(s)",
            key="review_apply",
            type="primary",
            icon=":material/done_all:",
            on_click=_apply,
            args=(ledger, check, who),
        )


_CHECK = "review_import_check"


def _checked(ledger: Ledger, file_id: str, data: bytes, name: str) -> Any:
    from atlas_core.review import check_import

    cached = st.session_state.get(_CHECK)
    if cached and cached[0] == file_id:
        return cached[1]
    check = check_import(ledger, data, file_name=name)
    st.session_state[_CHECK] = (file_id, check)
    return check


def _show(check: Any) -> None:
    for problem in check.problems:
        untrusted.warning(problem, icon=":material/warning:")
    if check.refused:
        untrusted.error(check.refused)
        return
    if not check.changes:
        st.info("No cell differs from the ledger: there is nothing to apply.", icon=":material/info:")
        return
    st.markdown(f"**{len(check.changes):,} changed cell(s)**, checked against the ledger:")
    rows = [
        {
            "Document": csv_cell(c.document_id),
            "Field": csv_cell(c.field),
            "Now in the ledger": csv_cell(c.before),
            "In your file": csv_cell(c.after),
        }
        for c in check.changes[:SHOWN_CHANGES]
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if len(check.changes) > SHOWN_CHANGES:
        st.caption(f"The first {SHOWN_CHANGES:,} are shown; Apply applies all {len(check.changes):,}.")


def _apply(ledger: Ledger, check: Any, who: str) -> None:
    from atlas_core.review import apply_import

    try:
        applied = apply_import(ledger, check, who)
    except Exception as exc:  # noqa: BLE001 - a callback's error would be a traceback
        queue.say("error", queue.plain_error(exc, "applying the corrections from your file"))
        return
    st.session_state.pop(_CHECK, None)
    queue.say("success", f"Applied {applied:,} change(s) from your file.")
