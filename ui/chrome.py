"""What surrounds every page: the sidebar's connection state and the sandbox banner."""

from __future__ import annotations

from typing import TYPE_CHECKING

import streamlit as st

from atlas_core.errors import AtlasError

from . import auth, fleet, outage
from .errors import show_error
from .runtime import handle

if TYPE_CHECKING:
    from atlas_core.engine.worker import Worker


def render_frame() -> bool:
    """Draw the sidebar and banner; False (after showing why) when the runtime cannot open."""
    try:
        current = handle()
    except Exception as exc:  # noqa: BLE001 - shown as a sentence, never a traceback
        with st.sidebar:
            st.caption("Atlas Bulk Ops")
        show_error(exc, "opening the ledger and connecting to Atlas")
        if not isinstance(exc, AtlasError):
            st.info("Check the settings on the server (ATLAS_* variables or secrets), then reload.")
        return False
    settings = current.runtime.settings
    sandbox = current.runtime.sandbox is not None
    with st.sidebar:
        if current.worker is None:  # a replica (ATLAS_EMBEDDED_WORKER=0): services do the work
            fleet.sidebar_workers(current.runtime.ledger, settings.base_url, sandbox=sandbox)
        else:
            outage.sidebar_box(settings.base_url, outage.atlas_health(current.worker),
                               sandbox=sandbox)
            st.text(worker_status(current.worker))  # plain text: the reason may quote Atlas
            fleet.other_workers(current.runtime.ledger, current.worker.identity.worker_id)
        email = auth.signed_in_email()
        if email:
            st.caption(f"Signed in as {email}")
            st.button("Sign out", key="sign_out", on_click=st.logout)
    if sandbox:
        st.warning(
            "**Sandbox mode.** This dashboard talks to the built-in Atlas sandbox: nothing is sent "
            "to Atlas and every result is simulated. Set ATLAS_BASE_URL (with the client id and "
            "secret) to use the real service.",
            icon=":material/science:",
        )
    return True


def worker_status(worker: Worker) -> str:
    """One line on the background worker, for the sidebar."""
    return worker.status().describe()
