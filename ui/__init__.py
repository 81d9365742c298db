"""Streamlit glue in one place: settings from st.secrets, the cached runtime and worker,
session-state keys, sign-in and error display. Pages import from here and from atlas_core."""
