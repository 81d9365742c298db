"""Results: filter the documents, review low-confidence fields, inspect one document, download."""

import streamlit as st

from atlas_core.config import DEFAULT_REVIEW_THRESHOLD
from atlas_core.ledger import states
from atlas_core.results import MIME_TYPES
from atlas_core.results.downloads import DocumentFilters
from ui import balance, charts, results_view, state, untrusted
from ui.errors import shown_errors
from ui.runtime import runtime

PER_PAGE = 50

rt = runtime()
ledger = rt.ledger

st.header("Results")
st.caption(
    "What Atlas extracted. Values come from Atlas and are shown as text, exactly as received."
)
if note := rt.scope_note():  # the ledger also holds another Atlas's work, kept out of this page
    untrusted.caption(note)

f1, f2, f3, f4 = st.columns(4)
uploads = results_view.upload_choices(ledger)
upload_id = uploads[f1.selectbox("Upload", list(uploads), key="results_upload")]
batch = f2.selectbox("Batch", results_view.batch_choices(ledger, upload_id), key="results_batch")
if upload_id is not None:  # did every row of its sheet come back?
    balance.show(ledger.upload_balance(upload_id), key="results_balance")
counts = results_view.type_state_counts(ledger, rt.settings.db_path, upload_id, rt.target)
doc_type = f3.selectbox("Document type", results_view.type_choices(counts), key="results_type")
doc_state = f4.selectbox("State", [results_view.ALL, *states.DOCUMENT_STATES], key="results_state")

g1, g2, g3 = st.columns([2, 2, 2], vertical_alignment="bottom")
threshold = g1.slider(
    "Review threshold (confidence)",
    0.0,
    1.0,
    DEFAULT_REVIEW_THRESHOLD,
    0.01,
    key=state.REVIEW_THRESHOLD,
    help="Fields below this confidence are highlighted; Atlas advises a person checks them.",
)
low, high = g2.slider(
    "Documents whose lowest confidence is between",
    0.0,
    1.0,
    (0.0, 1.0),
    0.01,
    key="results_confidence",
)
needs_review = g3.toggle("Only documents that need review", key="results_needs_review")
search = st.text_input("Find a document ID", key="results_search").strip()

filters = dict(
    upload_id=upload_id,
    batch_id=None if batch == results_view.ALL else batch,
    document_type=None if doc_type == results_view.ALL else doc_type,
    state=None if doc_state == results_view.ALL else doc_state,
    min_confidence=low if low > 0 else None,
    max_confidence=high if high < 1 else None,
    needs_review_below=threshold if needs_review else None,
    search=search or None,
)
page = st.session_state.get("results_page", 1)
rows, total = ledger.documents_page(
    **filters, with_file_data=True, limit=PER_PAGE, offset=(page - 1) * PER_PAGE
)

if not rows and total and page > 1:  # the filters shrank the list below the page shown
    st.session_state["results_page"] = 1
    st.rerun()

st.subheader(f"Documents ({total:,})")
if not rows:
    st.info(
        "No documents match these filters."
        if total == 0 and ledger.list_uploads(limit=1)[1]
        else "No results yet: upload a spreadsheet, and results appear here as Atlas finishes them."
    )
else:
    with shown_errors("showing the documents"):
        table = results_view.documents_table(rows)
        st.dataframe(
            results_view.highlight_low_confidence(table, threshold),
            hide_index=True,
            width="stretch",
            column_order=results_view.column_order(table),
        )
        st.caption(
            f"Fields below {threshold:.2f} confidence are highlighted. Rows {(page - 1) * PER_PAGE + 1:,}"
            f"–{(page - 1) * PER_PAGE + len(rows):,} of {total:,}."
        )
    pages = -(-total // PER_PAGE)
    if pages > 1:
        st.number_input(f"Page (of {pages})", 1, pages, key="results_page")

    st.subheader("One document")
    labels = {f"{r['document_id']} · {r['state']}": int(r["id"]) for r in rows}
    chosen = st.selectbox("Document", list(labels), key="results_document")
    detail = ledger.document_detail(labels[chosen]) if chosen else None
    if detail:
        left, right = st.columns([3, 2])
        with left:
            st.markdown(
                f"**{untrusted.text(detail['document_id'])}** · {untrusted.text(detail.get('document_type') or 'type unknown')}"
                f" · {detail['state']} · batch {untrusted.text(detail.get('batch_id') or '—')}"
            )
            if detail.get("error"):
                untrusted.error(f"Atlas reported: {detail['error']}")
            fields = results_view.fields_table(detail)
            st.dataframe(
                results_view.highlight_low_rows(fields, threshold), hide_index=True, width="stretch"
            )
            untrusted.caption(f"File: {detail.get('file_url') or '—'}")
        with right:
            st.markdown("**Raw answer from Atlas**")
            st.json(detail.get("file_data") or {}, expanded=2)

st.subheader("Downloads")
upload_row = ledger.upload(upload_id) if upload_id is not None else None
if not counts:
    st.caption("Nothing to download yet.")
else:
    doc_filters = DocumentFilters(**filters)
    if upload_row is None:
        st.caption(
            "Choose an upload above to download your own sheet with its results, its"
            " reconciliation report and its failed documents."
        )
    else:
        st.caption(
            f"**My sheet with results**: every row of upload {upload_id} as you sent it, in its"
            " order, with each row's result beside it (whatever the filters)."
        )
    st.caption(
        f"The other downloads hold the {total:,} documents the filters above list"
        f"{' (filtered)' if doc_filters.narrowed else ''}; needs_review uses the threshold"
        f" {threshold:.2f}. Files are made when you click."
    )
    makers = list(results_view.download_makers(ledger, upload_row, doc_filters, total, threshold).items())
    mine = [m for m in makers if m[0].startswith("download_sheet")]  # first, in a row of their own
    places = (st.columns(2) if mine else []) + st.columns(2) * 3
    for column, (key, (label, name, make)) in zip(places, mine + makers[len(mine):], strict=False):
        column.download_button(
            label,
            make,
            file_name=name,
            mime=MIME_TYPES.get(name.rsplit(".", 1)[-1], "text/csv"),
            key=key,
            icon=":material/download:",
            on_click="ignore",  # a download needs no rerun (and a rerun would renew the other buttons)
            width="stretch",
            type="primary" if key.startswith("download_sheet") else "secondary",
        )

st.subheader("Charts")
c1, c2 = st.columns(2)
with c1:
    st.markdown("**Documents by type and state**")
    if counts:
        st.altair_chart(charts.type_state_chart(counts), width="stretch")
    else:
        st.caption("No documents yet.")
with c2:
    st.markdown("**Confidence per field** (red line: review threshold)")
    summary = results_view.confidence_summary(
        ledger, rt.settings.db_path, upload_id, filters["document_type"], rt.target
    )
    if summary:
        st.altair_chart(charts.confidence_chart(summary, threshold), width="stretch")
    else:
        st.caption("No extracted fields yet.")
