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

pick, template = st.columns([3, 1], vertical_alignment="bottom")
uploaded = pick.file_uploader(
    "Spreadsheet (CSV or Excel)", type=upload_flow.SPREADSHEET_TYPES, key=upload_flow.uploader_key()
)
with template.popover("Download a template", icon=":material/download:"):
    st.caption(
        "One row per document: its ID and the link to its file. Extra columns (like "
        "customer_name) are kept with the results."
    )
    st.download_button(
        "Template (Excel)",
        sheet_fixes.template_xlsx(),
        file_name="atlas-upload-template.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key="download_template_xlsx",
        icon=":material/table:",
        on_click="ignore",
    )
    st.download_button(
        "Template (CSV)",
        sheet_fixes.TEMPLATE_CSV,
        file_name="atlas-upload-template.csv",
        mime="text/csv",
        key="download_template",
        icon=":material/description:",
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
detected = None
with shown_errors("finding the URL and ID columns"):
    try:
        detected = detect_columns(sheet.frame)
    except AtlasError as exc:
        untrusted.warning(exc.user_message())
url_column, id_column, columns_confirmed = upload_sections.column_pickers(sheet, detected)
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
m2.metric("Ready to send", f"{report.valid - report.repeats:,}")
m3.metric("With errors (left out)", f"{report.invalid:,}")
m4.metric("With warnings", f"{report.warnings:,}")

if report.problems:
    st.subheader(steps.next("Problems, and fixing them here"))
upload_sections.problems(report)

st.subheader(steps.next("Send"))
a, b = st.columns(2)
product_type = a.selectbox("Product type", settings.product_types, key="product_type")
email = auth.signed_in_email()
if email:
    b.text_input("Submitted by", value=email, disabled=True, key="submitter_email")
else:
    # Set from the remembered name on every run, not only when missing: after the box was off
    # the page (no file chosen), Streamlit keeps its old value in session state but shows a new
    # box empty, and the typed name seemed lost when the analyst swapped the file.
    st.session_state[state.SUBMITTER_INPUT] = st.session_state.get(state.SUBMITTER_NAME, "")
    b.text_input(
        "Your name",
        key=state.SUBMITTER_INPUT,
        on_change=upload_flow.remember_submitter,
        placeholder="So the team knows who sent it",
    )
pilot_on = a.checkbox("Pilot: send only the first rows, the rest later", key="pilot_on")
pilot = b.number_input("Rows in the pilot", 1, 10_000, 20, key="pilot_rows", disabled=not pilot_on)
submitter = auth.submitter_name()

if st.button(
    "Review before sending",
    key="review",
    type="primary",
    disabled=not (report.valid and columns_confirmed),
    help=None if columns_confirmed else "Confirm the guessed columns first (step 1).",
):
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
                fixes=sheet_fixes.fixed_cells(sheet, upload_flow.fixes()),
            )

plan = st.session_state.get(state.UPLOAD_PLAN)
if plan is not None:
    upload_sections.confirmation(
        rt.ledger, plan, settings.submit_concurrency, allowed=columns_confirmed
    )

upload_sections.last_upload(rt.ledger)
