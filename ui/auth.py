"""Optional sign-in with st.login, when secrets have an ``[auth]`` section; a gate for every page.

Signed-in accounts are checked against the allow-list (``allowed_emails``, ``allowed_domains``);
a server reachable from the network without sign-in, or without an allow-list, says so.
"""

from __future__ import annotations

import logging

import streamlit as st

from . import state
from .access import AllowList, listens_beyond_loopback
from .settings import atlas_environment, atlas_secrets, auth_configured

logger = logging.getLogger(__name__)
_logged: set[str] = set()  # each exposure warning goes to the server log once, not on every rerun

OPEN_TO_THE_NETWORK = (
    "This dashboard listens on {address} with no sign-in: anyone who can reach this server can "
    "send billable work and download every result. Run it on 127.0.0.1 (the default in "
    ".streamlit/config.toml), or configure sign-in ([auth]) with an allow-list before sharing it."
)
NO_ALLOW_LIST = (
    "This dashboard listens on {address} and has no allow-list: any account the sign-in "
    "provider accepts can use it. Set allowed_emails or allowed_domains in the [atlas] table "
    "(or ATLAS_ALLOWED_EMAILS / ATLAS_ALLOWED_DOMAINS)."
)


def require_sign_in() -> None:
    """Stop the page unless the visitor may use it: signed in (when sign-in is on) and allowed."""
    if not auth_configured():
        _warn_if_exposed(OPEN_TO_THE_NETWORK)
        return
    if not st.user.is_logged_in:
        st.title("Atlas Bulk Ops")
        st.write("Sign in with your work account to use the dashboard.")
        st.button("Sign in", key="sign_in", on_click=st.login, type="primary")
        st.stop()
    allowed = allow_list()
    email = st.user.get("email")
    verified = st.user.get("email_verified")  # a claim of the provider's: only a bool says anything
    if not allowed.allows(str(email) if email else None,
                          verified=verified if isinstance(verified, bool) else None):
        _refuse(str(email) if email else None)
    if not allowed.configured:
        _warn_if_exposed(NO_ALLOW_LIST)


def allow_list() -> AllowList:
    """The allow-list from the [atlas] table and the ATLAS_* environment."""
    return AllowList.from_settings(atlas_secrets(), atlas_environment())


def server_address() -> str:
    """Where Streamlit listens, in words for a warning."""
    address = st.get_option("server.address")
    return str(address) if address else "every network interface"


def _warn_if_exposed(template: str) -> None:
    if not listens_beyond_loopback(st.get_option("server.address")):
        return
    message = template.format(address=server_address())
    if template not in _logged:
        _logged.add(template)
        logger.warning(message)
    st.warning(message, icon=":material/public:")


def _refuse(email: str | None) -> None:
    # Nothing else is drawn and nothing is opened (no ledger, no worker, no sidebar).
    domain = email.rpartition("@")[2] if email else "(no email)"
    logger.warning("refused a signed-in account not on the allow-list (domain %s)", domain)
    st.title("Atlas Bulk Ops")
    st.error("This account is not allowed to use this dashboard.", icon=":material/block:")
    st.text(f"Signed in as {email or 'an account without an email address'}.")
    st.write("Ask the person who runs it to add you, or sign out and use another account.")
    st.button("Sign out", key="sign_out_refused", on_click=st.logout)
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
