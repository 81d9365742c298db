"""Batches: every upload and its batches, progress, stalls, and the decisions that need a person."""

import time

import streamlit as st

from atlas_core.engine import has_unfinished_work
from ui import actions, balance, charts, describe, outage, untrusted, upload_list
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


def stalled_uploads(uploads: list[dict]) -> dict[int, int]:
    """Stalled batches per upload shown (one small count each), for the state column."""
    out = {}
    for upload in uploads:
        if upload.get("submitted"):  # only an upload with batches at Atlas can have a stalled one
            _, n = ledger.batches_overview(
                upload_id=upload["id"], state="stalled", limit=1,
                stalled_after=settings.stalled_after,
            )
            if n:
                out[int(upload["id"])] = n
    return out


def render_search() -> None:
    """The upload holding the searched document or batch id, opened at the top of the page."""
    if not search:
        return
    found = ledger.uploads_holding(search)
    if not found:
        st.info("No upload holds a document or batch with that ID.", icon=":material/search_off:")
        return
    for upload_id in found[:3]:
        upload = ledger.upload(upload_id)
        if upload is None:
            continue
        st.markdown(f"**Found in upload {upload_id}**")
        stalled = stalled_uploads([upload]).get(upload_id, 0)
        upload_list.details(
            ledger, settings, upload, stalled=stalled, status=outage.worker_status(worker()),
            search=search,
        )


def render_uploads() -> None:
    st.subheader("Uploads")
    chosen_filters = upload_list.filters(ledger)
    page = st.session_state.get("uploads_page", 1)
    uploads, total = ledger.list_uploads(
        limit=UPLOADS_PER_PAGE, offset=(page - 1) * UPLOADS_PER_PAGE, **chosen_filters
    )
    if not total:
        if any(chosen_filters.values()):
            st.caption("No upload matches these filters.")
            return
        st.info("Nothing uploaded yet: start on the Upload page.")
        st.page_link(
            "app_pages/upload.py", label="Upload a spreadsheet", icon=":material/upload_file:"
        )
        return
    st.caption(
        f"{total:,} upload(s), newest first. Select a row to open the upload: its actions, "
        "requests and batches."
    )
    stalled = stalled_uploads(uploads)
    balances = balance.balances(ledger, uploads, db_path=settings.db_path, target=rt.target)
    opened = upload_list.table(uploads, set(stalled), key="uploads_table", balances=balances)
    pages = -(-total // UPLOADS_PER_PAGE)
    if pages > 1:
        st.number_input(f"Page of uploads (of {pages:,})", 1, pages, key="uploads_page")
    if opened is None and total == 1:  # a single upload (or the one the filters left): open it
        opened = int(uploads[0]["id"])
    if opened is not None:
        upload = next(u for u in uploads if int(u["id"]) == opened)
        upload_list.details(
            ledger, settings, upload, stalled=stalled.get(opened, 0),
            status=outage.worker_status(worker()),
        )


def render_batches() -> None:
    batches, total = ledger.batches_overview(
        state=state_filter,
        limit=BATCHES_PER_PAGE,
        stalled_after=settings.stalled_after,
    )
    st.subheader(f"All batches ({total:,})")
    if not batches:
        st.caption("No batch matches." if state_filter else "No batches yet.")
        return
    if total > len(batches):
        st.caption(
            f"The {len(batches)} newest of {total:,}; narrow them with the state filter, or open "
            "an upload above to see its own."
        )
    upload_list.batch_table(batches)


def render() -> None:
    render_search()
    render_uploads()
    render_chart()
    render_batches()


live_section(lambda: has_unfinished_work(ledger), render, doing="showing the batches")
