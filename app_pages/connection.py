"""Connection: which Atlas the dashboard talks to, a token test, product types and limits."""

import time

import streamlit as st

from ui import describe, state
from ui.errors import shown_errors
from ui.runtime import runtime

rt = runtime()
settings = rt.settings
sandbox = rt.sandbox is not None

st.header("Connection")
st.caption(
    "Which Atlas this dashboard talks to and the limits it works within. Secrets are never shown."
)

left, right = st.columns([3, 2], gap="large")
with left:
    st.subheader("Atlas service")
    st.dataframe(describe.target_rows(settings, sandbox=sandbox), hide_index=True, width="stretch")
with right:
    st.subheader("Test the connection")
    st.write(
        "Asks Atlas for a token with the configured client id and secret. Nothing is uploaded."
    )
    if st.button("Test connection", key="test_connection", type="primary"):
        st.session_state.pop(state.CONNECTION_RESULT, None)
        with st.spinner("Asking Atlas for a token…"), shown_errors("testing the connection"):
            expires_in = rt.client.authenticate()
            st.session_state[state.CONNECTION_RESULT] = (time.time(), expires_in)
    result = st.session_state.get(state.CONNECTION_RESULT)
    if result:
        tested_at, expires_in = result
        st.success(
            f"Connected: Atlas issued a token valid for {describe.duration(expires_in)} "
            f"({describe.age(tested_at)}). The credentials work.",
            icon=":material/check_circle:",
        )

st.subheader("Product types")
st.write("Each upload is sent under one of these product types (set by ATLAS_PRODUCT_TYPES).")
st.dataframe({"Product type": list(settings.product_types)}, hide_index=True)

st.subheader("Limits in force")
st.dataframe(describe.limits_rows(settings), hide_index=True, width="stretch")
