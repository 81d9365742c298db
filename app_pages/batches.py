"""Batches: every upload and its batches, progress, stalls, and the decisions that need a person."""

import time

import streamlit as st

from atlas_core.engine import has_unfinished_work
from ui import actions, charts, describe, outage, progress, untrusted, upload_card
from ui.live import live_section
from ui.runtime import refresh_now, runtime, worker

UPLOADS_PER_PAGE = 10
BATCHES_PER_PAGE = 50
CHART_WINDOW = 2 * 3600  # at most this much history in the "finished over time" chart
CHART_MIN_WINDOW = 20 * 60  # at least this much, so a stall shows as an empty stretch
CHART_BUCKET = 60

rt = runtime()
ledger, settings = rt.ledger, rt.settings

st.header("Batches")
st.caption("Every upload and its batches. The page refreshes itself while anything is unfinished.")
if note := rt.scope_note():  # the ledger also holds another Atlas's work, kept out of this page
    untrusted.caption(note)
actions.show_last_message()

search_box, state_box, refresh_box = st.columns([3, 2, 1], vertical_alignment="bottom")
search = search_box.text_input("Find a document ID or batch ID", key="batch_search").strip()
state_label = state_box.selectbox(
    "Batch state", ["All", *describe.BATCH_STATES.values()], key="batch_state"
)
if refresh_box.button("Refresh now", key="refresh_now", icon=":material/refresh:", width="stretch"):
    # The worker asks Atlas in its next cycle, starting now: the page never waits on the network.
    refresh_now()
    st.toast("Asking Atlas for the latest results; the page updates as they arrive.")
state_filter = {v: k for k, v in describe.BATCH_STATES.items()}.get(state_label)


def render_chart() -> None:
    now = time.time()
    rows = ledger.finished_over_time(bucket_seconds=CHART_BUCKET, since=now - CHART_WINDOW)
    st.markdown("**Documents finished per minute**")
    if not rows:
        st.caption("Nothing finished in the last 2 hours.")
        return
    since = min(rows[0]["bucket"] - 5 * CHART_BUCKET, now - CHART_MIN_WINDOW)
    frame = charts.finished_frame(rows, since=since, bucket_seconds=CHART_BUCKET, now=now)
    st.altair_chart(charts.finished_chart(frame), width="stretch")


def render_uploads() -> None:
    page = st.session_state.get("uploads_page", 1)
    uploads, total = ledger.list_uploads(
        limit=UPLOADS_PER_PAGE, offset=(page - 1) * UPLOADS_PER_PAGE
    )
    st.subheader(f"Uploads ({total:,})")
    if not total:
        st.info("Nothing uploaded yet: start on the Upload page.")
        st.page_link(
            "app_pages/upload.py", label="Upload a spreadsheet", icon=":material/upload_file:"
        )
        return
    worker_status = outage.worker_status(worker())
    for upload in uploads:
        with st.container(border=True):
            _, stalled = ledger.batches_overview(
                upload_id=upload["id"],
                state="stalled",
                limit=1,
                stalled_after=settings.stalled_after,
            )
            title, status = st.columns([5, 1])
            title.markdown(f"**Upload {upload['id']}** · {untrusted.text(upload.get('file_name'))}")
            with status:
                progress.state_badge(describe.upload_state(upload, stalled=bool(stalled)))
            progress.upload_progress(upload, named=False)
            st.caption(
                f"{untrusted.text(upload.get('product_type'))} · submitted by "
                f"{untrusted.text(upload.get('submitted_by') or 'unknown')} · {upload.get('batches') or 0} batch(es)"
            )
            upload_card.after_sending(ledger, upload, worker_status)
            if stalled:
                st.warning(
                    f"{stalled} batch(es) had no progress for {describe.duration(settings.stalled_after)}. "
                    "Atlas may be slow: press Refresh now; if it stays so, send the batch ids below to "
                    "Atlas support. Nothing is lost meanwhile.",
                    icon=":material/hourglass_disabled:",
                )
            actions.upload_actions(ledger, upload)
            upload_card.failures(ledger, upload)
            actions.uncertain_chunks(ledger, int(upload["id"]))
    pages = -(-total // UPLOADS_PER_PAGE)
    if pages > 1:
        st.number_input(f"Page of uploads (of {pages})", 1, pages, key="uploads_page")


def render_batches() -> None:
    batches, total = ledger.batches_overview(
        state=state_filter,
        search=search or None,
        limit=BATCHES_PER_PAGE,
        stalled_after=settings.stalled_after,
    )
    st.subheader(f"Batches ({total:,})")
    if not batches:
        st.caption("No batch matches." if (search or state_filter) else "No batches yet.")
        return
    if total > len(batches):
        st.caption(
            f"The {len(batches)} newest of {total:,}; narrow them with the search or state filter."
        )
    st.dataframe(
        describe.batch_rows(batches),
        hide_index=True,
        width="stretch",
        column_config={
            "Progress": st.column_config.ProgressColumn(
                "Progress", min_value=0.0, max_value=1.0, format="percent"
            ),
            "State": st.column_config.TextColumn("State", width="medium"),
        },
    )


def render() -> None:
    render_chart()
    render_uploads()
    render_batches()


live_section(lambda: has_unfinished_work(ledger), render, doing="showing the batches")
