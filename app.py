"""Atlas Bulk Ops dashboard: navigation, sidebar and the sandbox banner around the pages."""

from pathlib import Path

import streamlit as st

from ui import auth, chrome
from ui.errors import shown_errors

# A file served by this server: a :material/...: page icon makes the browser fetch it from a CDN.
PAGE_ICON = Path(__file__).resolve().parent / "ui" / "assets" / "page_icon.png"

st.set_page_config(page_title="Atlas Bulk Ops", page_icon=PAGE_ICON, layout="wide")

auth.require_sign_in()

page = st.navigation(
    [
        st.Page("app_pages/upload.py", title="Upload", icon=":material/upload_file:", default=True),
        st.Page("app_pages/batches.py", title="Batches", icon=":material/view_list:"),
        st.Page("app_pages/results.py", title="Results", icon=":material/table_view:"),
        st.Page("app_pages/review.py", title="Review", icon=":material/fact_check:"),
        st.Page("app_pages/connection.py", title="Connection", icon=":material/cable:"),
    ]
)

if chrome.render_frame():
    with shown_errors(f"showing the {page.title} page"):
        page.run()
