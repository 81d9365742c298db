"""The larger sections of the Upload page, so the page script reads as the steps it shows."""

from __future__ import annotations

import streamlit as st

from atlas_core.engine import UploadPlan, queue_upload
from atlas_core.intake import ColumnMapping, SheetData, ValidationReport
from atlas_core.ledger import Ledger

from . import (
    actions,
    describe,
    outage,
    progress,
    sheet_fixes,
    state,
    untrusted,
    upload_card,
    upload_flow,
)
from .errors import shown_errors
from .live import live_section
from .runtime import wake_worker, worker


def problems(report: ValidationReport) -> None:
    """The problems and the fix grid in one table (errors first, warnings one line per kind),
    filterable by kind, the re-check button and the problems file to download."""
    if not report.problems:
        st.success("Every row looks right.", icon=":material/check_circle:")
        return
    kinds = sheet_fixes.problem_kinds(report)
    titles = {sheet_fixes.PROBLEM_TITLES[k]: k for k in kinds}
    # The filter's key names the problems it filters: a new set of problems (other columns, a
    # fix, another file) gets a fresh filter showing every kind, never a stale selection.
    shown = st.multiselect(
        "Show problems of kind",
        list(titles),
        default=list(titles),
        key=upload_flow.filter_key(report),
    )
    chosen = [titles[t] for t in shown]
    grid = sheet_fixes.problem_grid(report, chosen)
    errors = int(sheet_fixes.is_sheet_row(grid).sum())
    if report.invalid > errors and len(chosen) == len(kinds):
        st.caption(
            f"The first {errors:,} of {report.invalid:,} rows in error are shown; the problems "
            "file has them all."
        )
    if errors:
        st.caption(
            "Edit the ID or URL of a row in error here, then re-check. Larger fixes are easier "
            "in your spreadsheet: download the problems file."
        )
    editable = (report.id_column, report.url_column)
    with st.container(key="fix_rows"):
        after = st.data_editor(
            grid,
            key=upload_flow.editor_key(report, chosen),
            hide_index=True,
            width="stretch",
            height="auto" if len(grid) <= 10 else 390,
            disabled=[c for c in grid.columns if c not in editable],
            column_config=upload_flow.grid_columns(report),
            on_change="ignore",  # edits travel with the Re-check click: no rerun per cell
        )
    if errors and st.button("Re-check with my fixes", key="revalidate", icon=":material/refresh:"):
        upload_flow.add_fixes(sheet_fixes.edits_from_editor(grid, after, editable))
        st.rerun()
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


def confirmation(
    ledger: Ledger, plan: UploadPlan, concurrency: int, *, allowed: bool = True
) -> None:
    """What sending will do, with Send and Back; Send queues the upload for the worker.

    ``allowed`` is False while a guessed column is not yet confirmed: Send stays locked.
    """
    with st.container(border=True):
        st.markdown("**Confirm**")
        st.markdown(plan.summary())
        st.markdown(describe.sending_estimate(plan.chunks, concurrency))
        go, back, _ = st.columns([1, 1, 3])
        label = f"Send {plan.to_send:,} documents"
        if go.button(
            label, key="confirm_send", type="primary", disabled=not (plan.to_send and allowed)
        ):
            with shown_errors("queueing the upload"):
                queued = queue_upload(ledger, plan)
                upload_flow.sent(queued.upload_id)
                wake_worker()
                st.toast(f"Upload {queued.upload_id} queued: {queued.queued:,} documents.")
                st.rerun()
        if back.button("Back", key="cancel_send"):
            st.session_state.pop(state.UPLOAD_PLAN, None)
            st.rerun()


def column_pickers(
    sheet: SheetData, detected: ColumnMapping | None
) -> tuple[str | None, str | None, bool]:
    """The two column pickers, how each column was found, and the confirmation a guess needs.

    Returns (URL column, ID column, confirmed): confirmed is False while a column guessed from
    its cells (not named by its header, not chosen by the analyst) is not yet confirmed.
    """
    columns = sheet.columns
    guess_url = detected.url_column if detected else None
    guess_id = detected.id_column if detected else None
    left, right = st.columns(2)
    url_column = left.selectbox(
        "Column with the file URLs",
        columns,
        index=columns.index(guess_url) if guess_url else None,
        placeholder="Choose the column…",
        key=upload_flow.URL_PICKER,
    )
    id_column = right.selectbox(
        "Column with the document IDs",
        columns,
        index=columns.index(guess_id) if guess_id else None,
        placeholder="Choose the column…",
        key=upload_flow.ID_PICKER,
    )
    guesses = []
    for where, chosen, found, by, why, what in (
        (left, url_column, guess_url, detected and detected.url_found_by, detected and detected.url_reason, "links"),
        (right, id_column, guess_id, detected and detected.id_found_by, detected and detected.id_reason, "IDs"),
    ):  # fmt: skip
        if not chosen or chosen != found:
            continue  # chosen by the analyst: nothing to explain or confirm
        if by == "content":
            guesses.append(chosen)
            # The reason quotes the sheet's header: shown as text, never as markup.
            where.warning(
                f"**Guessed from the cells**: {untrusted.text(why)}. Check that this column "
                f"holds the {what}.",
                icon=":material/help:",
            )
        else:
            where.caption(f":material/check: Found because {untrusted.text(why)}.")
    if not url_column or not id_column or not guesses:
        return url_column, id_column, True
    confirmed = st.checkbox(
        f"I checked: {untrusted.text(repr(url_column))} holds the file links and "
        f"{untrusted.text(repr(id_column))} the document IDs",
        key=upload_flow.confirm_key(sheet, url_column, id_column),
        help="A column guessed from its cells may be wrong: results come back keyed by the ID "
        "column, so a serial number there would lose the link to your records.",
    )
    if not confirmed:
        st.info(
            "Confirm the columns above (or choose others) before sending.", icon=":material/lock:"
        )
    return url_column, id_column, confirmed


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
        actions.show_last_message()  # what "Send the rest" did, say
        progress.upload_progress(row)
        outage.upload_waiting(ledger, row, outage.worker_status(worker()))
        pilot = describe.pilot_sentence(row)
        if pilot is not None and pilot.startswith("Pilot done"):
            upload_card.pilot(row)
            actions.upload_actions(ledger, row)
        elif row.get("rows_held"):
            st.info(
                f"{row['rows_held']:,} rows are held back by the pilot: send them once it is done, "
                "here or on the Batches page."
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
