"""The larger sections of the Upload page, so the page script reads as the steps it shows."""

from __future__ import annotations

import streamlit as st

from atlas_core.engine import UploadPlan, queue_upload
from atlas_core.intake import ValidationReport
from atlas_core.ledger import Ledger

from . import describe, progress, sheet_fixes, state, upload_flow
from .errors import shown_errors
from .live import live_section
from .runtime import wake_worker


def problems(report: ValidationReport) -> None:
    """The problem list (filterable by kind) and the problems file to download."""
    if not report.problems:
        st.success("Every row looks right.", icon=":material/check_circle:")
        return
    table = report.problems_frame()
    codes = sorted(table["code"].unique())
    shown = st.multiselect("Show problems of kind", codes, default=codes, key="problem_filter")
    listed = table[table["code"].isin(shown)]
    st.dataframe(
        listed,
        hide_index=True,
        width="stretch",
        height="auto" if len(listed) <= 10 else 390,
        column_config=upload_flow.PROBLEM_COLUMNS,
    )
    csv, xlsx, _ = st.columns([1, 1, 3])
    csv.download_button(
        "Problems file (CSV)",
        report.problems_file("csv"),
        file_name="problems.csv",
        mime="text/csv",
        key="download_problems_csv",
        icon=":material/download:",
        on_click="ignore",
    )
    xlsx.download_button(
        "Problems file (Excel)",
        report.problems_file("xlsx"),
        file_name="problems.xlsx",
        key="download_problems_xlsx",
        icon=":material/download:",
        on_click="ignore",
    )


def fix_rows(report: ValidationReport) -> None:
    """The rows in error in an editable table, and the button that re-checks with the edits."""
    st.caption(
        "Edit the ID or URL of a row in error, then re-check. Larger fixes are easier in your "
        f"spreadsheet: download the problems file. (At most {sheet_fixes.EDITABLE_ROWS} rows shown.)"
    )
    before = sheet_fixes.problem_rows(report)
    with st.container(key="fix_rows"):
        after = st.data_editor(
            before,
            key=upload_flow.editor_key(),
            hide_index=True,
            width="stretch",
            disabled=[sheet_fixes.ROW, sheet_fixes.PROBLEMS],
            on_change="ignore",  # edits travel with the Re-check click: no rerun per cell
        )
    if st.button("Re-check with my fixes", key="revalidate", icon=":material/refresh:"):
        upload_flow.add_fixes(sheet_fixes.edits_from_editor(before, after))
        st.rerun()


def confirmation(ledger: Ledger, plan: UploadPlan, concurrency: int) -> None:
    """What sending will do, with Send and Back; Send queues the upload for the worker."""
    with st.container(border=True):
        st.markdown("**Confirm**")
        st.markdown(plan.summary())
        st.markdown(describe.sending_estimate(plan.chunks, concurrency))
        go, back, _ = st.columns([1, 1, 3])
        label = f"Send {plan.to_send:,} documents"
        if go.button(label, key="confirm_send", type="primary", disabled=not plan.to_send):
            with shown_errors("queueing the upload"):
                queued = queue_upload(ledger, plan)
                upload_flow.sent(queued.upload_id)
                wake_worker()
                st.toast(f"Upload {queued.upload_id} queued: {queued.queued:,} documents.")
                st.rerun()
        if back.button("Back", key="cancel_send"):
            st.session_state.pop(state.UPLOAD_PLAN, None)
            st.rerun()


def last_upload(ledger: Ledger) -> None:
    """The progress of what this session sent last, refreshed until it is finished."""
    upload_id = st.session_state.get(state.LAST_UPLOAD_ID)
    if upload_id is None:
        return

    def render() -> None:
        row = ledger.upload(upload_id)
        if row is None:
            return
        st.subheader("Your last upload")
        progress.upload_progress(row)
        if row.get("rows_held"):
            st.info(
                f"{row['rows_held']:,} rows are held back by the pilot: send them from the Batches page."
            )
        st.page_link(
            "app_pages/batches.py",
            label="Follow it on the Batches page",
            icon=":material/view_list:",
        )

    live_section(
        lambda: progress.upload_unfinished(ledger, upload_id),
        render,
        doing="reading the progress of your upload",
    )
