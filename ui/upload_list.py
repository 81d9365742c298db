"""The Batches page's uploads at scale: a compact table with filters, and one upload's details.

A day can hold dozens of uploads: one row each (state, balance of documents, who, when, what it
needs), filtered by file, submitter and date; opening a row (or searching one of its document or
batch ids) shows that upload's card with its actions, uncertain requests and its own batches.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import streamlit as st

from atlas_core.ledger.balance import UploadBalance
from atlas_core.ledger.rows import BatchOverview, UploadRow

from . import actions, balance, describe, progress, untrusted, upload_card

BATCHES_PER_UPLOAD = 50


def count_columns() -> dict[str, Any]:
    """Column settings drawing counts with the viewer's thousands separators (1,200 not 1200)."""
    return {
        name: st.column_config.NumberColumn(name, format="localized")
        for name in describe.COUNT_COLUMNS
    }


def filters(ledger: Any) -> dict[str, Any]:
    """File, submitter and date filters; returns the list_uploads keyword arguments they set."""
    file_box, who_box, day_box = st.columns([3, 2, 2])
    file_part = file_box.text_input("File name contains", key="uploads_file").strip()
    who = who_box.selectbox(
        "Submitted by", ["Anyone", *ledger.submitters()], key="uploads_who"
    )
    days = day_box.date_input("Submitted between", value=[], key="uploads_days", format="YYYY-MM-DD")
    since = until = None
    if isinstance(days, date):
        days = (days,)
    if days:
        since = datetime.combine(days[0], time(), UTC).timestamp()
        until = datetime.combine(days[-1] + timedelta(days=1), time(), UTC).timestamp()
    return {
        "file_contains": file_part or None,
        "submitted_by": None if who == "Anyone" else who,
        "since": since,
        "until": until,
    }


def table(
    uploads: list[UploadRow], stalled: set[int], *, key: str,
    balances: dict[int, UploadBalance] | None = None,
) -> int | None:
    """The compact uploads table; returns the id of the upload the person opened, if any."""
    rows = describe.upload_rows(uploads, stalled, balances)
    event = st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        key=key,
        on_select="rerun",
        selection_mode="single-row",
        column_config={
            "Upload": st.column_config.NumberColumn("Upload", format="%d", width="small"),
            "Progress": st.column_config.ProgressColumn(
                "Progress", min_value=0.0, max_value=1.0, format="percent", width="small"
            ),
            "Needs": st.column_config.TextColumn("Needs", width="medium"),
            "Balance": st.column_config.TextColumn(
                "Balance", width="large",
                help="What became of every row of the sheet: extracted, failed, left out "
                "(never sent), missing (should be 0), pending",
            ),
            **count_columns(),
        },
    )
    chosen = event.selection.rows if event is not None else []
    if chosen and chosen[0] < len(rows):
        return rows[chosen[0]]["Upload"]
    # The same by name, for the keyboard and screen readers (a grid row is hard to reach there).
    names = {f"Upload {r['Upload']} · {r['File']}".rstrip(" ·"): r["Upload"] for r in rows}
    picked = st.selectbox(
        "Open an upload", list(names), index=None, placeholder="Choose one, or select a row",
        key=f"{key}_open",
    )
    return names.get(picked) if picked else None


def details(
    ledger: Any, settings: Any, upload: UploadRow, *, stalled: int, status: Any = None,
    search: str | None = None,
) -> None:
    """One upload opened: its card (state, progress, who, why it waits, actions, failure reasons,
    uncertain requests) and its batches (only the one holding ``search``, when given).

    ``status``: the worker's WorkerStatus, so the card says when Atlas is unreachable.
    """
    with st.container(border=True):
        title, badge = st.columns([5, 1])
        title.markdown(f"**Upload {upload['id']}** · {untrusted.text(upload.get('file_name'))}")
        with badge:
            progress.state_badge(describe.upload_state(upload, stalled=bool(stalled)))
        progress.upload_progress(upload, named=False)
        found = balance.balances(ledger, [upload], db_path=settings.db_path,
                                 target=ledger.scope.target)
        balance.show(found[int(upload["id"])], key=f"balance_{upload['id']}")
        who = untrusted.text(upload.get("submitted_by")) or "unknown"
        st.caption(
            f"{untrusted.text(upload.get('product_type'))} · submitted by {who} · "
            f"{int(upload.get('requests') or 0):,} request(s) · "
            f"{int(upload.get('batches') or 0):,} batch(es)"
        )
        upload_card.after_sending(ledger, upload, status)
        if stalled:
            st.warning(
                f"{stalled:,} batch(es) had no progress for {describe.duration(settings.stalled_after)}. "
                "Atlas may be slow: press Refresh now; if it stays so, send the batch ids below to "
                "Atlas support. Nothing is lost meanwhile.",
                icon=":material/hourglass_disabled:",
            )
        actions.upload_actions(ledger, upload)
        upload_card.failures(ledger, upload)
        actions.uncertain_chunks(ledger, int(upload["id"]), requests=upload.get("requests"))
        batches(ledger, settings, int(upload["id"]), search)


def batches(ledger: Any, settings: Any, upload_id: int, search: str | None = None) -> None:
    """The upload's own batches (the newest first), or those matching the search."""
    rows, total = ledger.batches_overview(
        upload_id=upload_id, search=search, limit=BATCHES_PER_UPLOAD,
        stalled_after=settings.stalled_after,
    )
    if not rows:
        if not search:
            st.caption("No batch yet: nothing of this upload has reached Atlas.")
        return
    if search:
        label = "The batch holding it" if total == 1 else f"The {total:,} batches holding it"
    elif total <= len(rows):
        label = f"Its batches ({total:,})"
    else:
        label = f"Its {len(rows)} newest batches of {total:,}"
    st.markdown(f"**{label}**")
    batch_table(rows, key=f"upload_batches_{upload_id}")


def batch_table(rows: list[BatchOverview], *, key: str | None = None) -> None:
    """Batches as a table: state in words, progress bar, counts with thousands separators."""
    st.dataframe(
        describe.batch_rows(rows),
        hide_index=True,
        width="stretch",
        key=key,
        column_config={
            "Progress": st.column_config.ProgressColumn(
                "Progress", min_value=0.0, max_value=1.0, format="percent"
            ),
            "State": st.column_config.TextColumn("State", width="medium"),
            **count_columns(),
        },
    )
