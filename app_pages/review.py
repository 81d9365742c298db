"""Review: the documents that need a person, one at a time, image beside fields, keys for all."""

import streamlit as st

from ui import (
    review_actions,
    review_excel,
    review_form,
    review_image,
    review_keys,
    review_panels,
    state,
    untrusted,
)
from ui import review_queue as queue
from ui.runtime import runtime

rt = runtime()
ledger = rt.ledger

st.header("Review", anchor=False)
st.caption(
    "Documents Atlas was unsure of (a field below the threshold), plus a random sample of the "
    "rest as a quality check. Confirm each one, correct its fields, or reject it. Atlas's answer "
    "is kept as it came; your corrections are stored beside it and used in every download."
)
if note := rt.scope_note():
    untrusted.caption(note)

who = queue.reviewer()
if not who:
    st.text_input(
        "Your name (recorded with each decision)",
        key=state.REVIEWER_INPUT,
        on_change=queue.remember_reviewer,
        placeholder="e.g. Asha",
    )
    st.info("Type your name and press Enter to start reviewing.", icon=":material/badge:")
    st.stop()

untrusted.caption(f"Reviewing as {who}: your name goes with each decision.")
rule = review_panels.controls(ledger, rt.settings)
# Not an st.fragment: tried, a key press was no faster in Chromium at 100,000 documents (the
# decision, the claim and the counts dominate), and a fragment must re-read the shared rule itself.
figures, notice = st.container(), st.container()  # filled after the claim below


item, found = None, False
with queue.shown_errors("finding the next document to review"):
    item, found = review_actions.shown_item(ledger, who, rule), True
with figures, queue.shown_errors("counting the review queue"):
    review_panels.counts(ledger, who, rule)  # after the claim: "held now" counts this reviewer's
if message := queue.take_message():
    with notice:
        review_panels.message(*message)

if not found:
    pass  # the error is on the page already
elif item is None:
    st.success(
        "Nothing left to review at this threshold and sample rate. New results join the queue "
        "as Atlas finishes them.",
        icon=":material/task_alt:",
    )
else:
    review_form.heading(item)
    picture, fields = st.columns(2, gap="large")
    with picture:
        review_image.image_panel(item.file_url, item.document_id)
    with fields:
        review_form.fields_form(ledger, item, who)
        review_form.focus_first_field(item)
    review_form.navigation(ledger, item, who)
review_keys.legend()

with st.expander("Who is reviewing what", icon=":material/group:"):
    with queue.shown_errors("listing the claimed documents"):
        review_panels.claims(ledger)

with st.expander("Review in Excel (download the queue, upload your corrections)", icon=":material/table:"):
    with queue.shown_errors("working on the review spreadsheet"):
        review_excel.section(ledger, who, rule)
