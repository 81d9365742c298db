"""Optional sign-in with st.login, when secrets have an ``[auth]`` section; a gate for every page."""

from __future__ import annotations

import streamlit as st

from . import state
from .settings import auth_configured


def require_sign_in() -> None:
    """Stop the page with a sign-in prompt unless sign-in is off or the user is signed in."""
    if not auth_configured() or st.user.is_logged_in:
        return
    st.title("Atlas Bulk Ops")
    st.write("Sign in with your work account to use the dashboard.")
    st.button("Sign in", key="sign_in", on_click=st.login, type="primary")
    st.stop()


def signed_in_email() -> str | None:
    """The signed-in user's email, or None when sign-in is not configured."""
    if not auth_configured() or not st.user.is_logged_in:
        return None
    email = st.user.get("email")
    return str(email) if email else None


def submitter_name() -> str:
    """Who is submitting: the signed-in email, else the name typed earlier in this session."""
    return signed_in_email() or str(st.session_state.get(state.SUBMITTER_NAME, "")).strip()
