"""Upload: check a spreadsheet, fix what is wrong, confirm, and send it to Atlas."""

import streamlit as st

from atlas_core.engine import plan_upload
from atlas_core.errors import AtlasError
from atlas_core.intake import detect_columns
from ui import auth, sheet_fixes, state, untrusted, upload_flow, upload_sections
from ui.errors import shown_errors
from ui.runtime import runtime

rt = runtime()
settings = rt.settings

st.header("Upload")
st.caption(
    "Send a spreadsheet of document links to Atlas: one row per document, with a file URL and a "
    "document ID. Nothing is sent until you confirm."
)

pick, template = st.columns([4, 1], vertical_alignment="bottom")
uploaded = pick.file_uploader(
    "Spreadsheet (CSV or Excel)", type=upload_flow.SPREADSHEET_TYPES, key=upload_flow.uploader_key()
)
template.download_button(
    "Download a template",
    sheet_fixes.TEMPLATE_CSV,
    file_name="atlas-upload-template.csv",
    mime="text/csv",
    key="download_template",
    icon=":material/download:",
    on_click="ignore",
)


if uploaded is None:
    upload_flow.forget_file()
    st.info("Choose a spreadsheet to check it. Work already sent carries on in the background.")
    upload_sections.last_upload(rt.ledger)
    st.stop()

steps = upload_flow.Steps()
try:
    sheet = upload_flow.sheet_for(uploaded, settings, st.session_state.get(state.SHEET_NAME))
except AtlasError as exc:
    untrusted.error(exc.user_message())
    st.stop()
if len(sheet.sheet_names) > 1:
    st.selectbox(
        "Sheet",
        sheet.sheet_names,
        index=sheet.sheet_names.index(sheet.sheet_name),
        key=state.SHEET_NAME,
    )
for note in sheet.notes:
    untrusted.caption(note)

st.subheader(steps.next("Columns"))
columns = sheet.columns
with shown_errors("finding the URL and ID columns"):
    try:
        detected = detect_columns(sheet.frame)
        guess_url, guess_id = detected.url_column, detected.id_column
    except AtlasError as exc:
        untrusted.warning(exc.user_message())
        guess_url = guess_id = None
left, right = st.columns(2)
url_column = left.selectbox(
    "Column with the file URLs",
    columns,
    index=columns.index(guess_url) if guess_url else None,
    placeholder="Choose the column…",
    key="url_column",
)
id_column = right.selectbox(
    "Column with the document IDs",
    columns,
    index=columns.index(guess_id) if guess_id else None,
    placeholder="Choose the column…",
    key="id_column",
)
if not url_column or not id_column:
    st.stop()

st.subheader(steps.next("Check"))
try:
    report = upload_flow.report_for(sheet, url_column, id_column, rt.ledger.known_ids)
except AtlasError as exc:
    untrusted.error(exc.user_message())
    st.stop()
m1, m2, m3, m4 = st.columns(4)
m1.metric("Rows", f"{report.rows:,}")
m2.metric("Ready to send", f"{report.valid:,}")
m3.metric("With errors (left out)", f"{report.invalid:,}")
m4.metric("With warnings", f"{report.warnings:,}")

upload_sections.problems(report)
if report.invalid:
    st.subheader(steps.next("Fix rows here (optional)"))
    upload_sections.fix_rows(report)

st.subheader(steps.next("Send"))
a, b = st.columns(2)
product_type = a.selectbox("Product type", settings.product_types, key="product_type")
email = auth.signed_in_email()
if email:
    b.text_input("Submitted by", value=email, disabled=True, key="submitter_email")
else:
    st.session_state.setdefault(
        state.SUBMITTER_INPUT, st.session_state.get(state.SUBMITTER_NAME, "")
    )
    b.text_input(
        "Your name",
        key=state.SUBMITTER_INPUT,
        on_change=upload_flow.remember_submitter,
        placeholder="So the team knows who sent it",
    )
pilot_on = a.checkbox("Pilot: send only the first rows, the rest later", key="pilot_on")
pilot = b.number_input("Rows in the pilot", 1, 10_000, 20, key="pilot_rows", disabled=not pilot_on)
submitter = auth.submitter_name()

if st.button("Review before sending", key="review", type="primary", disabled=not report.valid):
    if not submitter:
        st.warning("Type your name first, so the team knows who sent this upload.")
    else:
        with shown_errors("preparing the upload"):
            st.session_state[state.UPLOAD_PLAN] = plan_upload(
                rt.ledger,
                report.sheet,
                report,
                product_type=product_type,
                chunk_size=settings.chunk_size,
                pilot=int(pilot) if pilot_on else None,
                submitted_by=submitter,
            )

plan = st.session_state.get(state.UPLOAD_PLAN)
if plan is not None:
    upload_sections.confirmation(rt.ledger, plan, settings.submit_concurrency)

upload_sections.last_upload(rt.ledger)
