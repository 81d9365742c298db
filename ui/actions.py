"""Buttons that change work (retry, resolve, cancel, send held rows) and the message they leave.

An action's outcome is kept in session state and shown at the top of the page for a minute:
the page reruns right after the click to show the new counts, and may rerun again when the
work it started finishes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

import streamlit as st

from atlas_core.engine import cancel_upload, resolve_uncertain, retry_failed, submit_held
from atlas_core.ledger import Ledger
from atlas_core.ledger.rows import UploadRow

from . import auth, describe, failure_view, state, untrusted
from .errors import show_error
from .runtime import wake_worker

MESSAGE_SECONDS = 60.0

RESEND_RISK = (
    "The connection broke after these documents were sent, so nobody knows whether Atlas "
    "received them. **Resend** sends them again: if Atlas did receive them the first time, they "
    "are processed twice, in a second batch (and may be billed twice). **Drop** marks them "
    "cancelled: if Atlas never received them, they are not processed until you upload them again."
)


def _run(doing: str, action: Callable[[], Any]) -> None:
    try:
        result = action()
    except Exception as exc:  # noqa: BLE001 - shown as a sentence, never a traceback
        show_error(exc, doing)
        return
    st.session_state[state.ACTION_MESSAGE] = (time.time(), result.message)
    wake_worker()
    st.rerun()


def show_last_message() -> None:
    """Show what the last action did, for a while: a refresh right after must not swallow it."""
    shown = st.session_state.get(state.ACTION_MESSAGE)
    if shown is None:
        return
    at, message = shown
    if time.time() - at > MESSAGE_SECONDS:
        del st.session_state[state.ACTION_MESSAGE]
        return
    st.success(untrusted.text(message), icon=":material/check_circle:")  # may name a batch id


def upload_actions(ledger: Ledger, upload: UploadRow) -> None:
    """The buttons that apply to one upload, only those that would do something."""
    upload_id = int(upload["id"])
    buttons = []
    # Retry offers only the failures a retry may help; those whose file or link needs fixing
    # fail the same way again (failure_view offers their file instead).
    retriable = failure_view.retriable_count(failure_view.reasons(ledger, upload))
    if retriable:
        buttons.append(
            (
                f"Retry {retriable:,} that may work now",
                f"retry_{upload_id}",
                "retrying the failed documents",
                lambda: retry_failed(ledger, upload_id=upload_id, retriable_only=True),
            )
        )
    if upload.get("rows_held"):
        buttons.append(
            (
                f"Send the rest ({upload['rows_held']:,} held rows)",
                f"send_held_{upload_id}",
                "sending the held rows",
                lambda: submit_held(ledger, upload_id),
            )
        )
    if upload.get("queued"):
        buttons.append(
            (
                f"Cancel {upload['queued']:,} queued",
                f"cancel_{upload_id}",
                "cancelling the queued documents",
                lambda: cancel_upload(ledger, upload_id),
            )
        )
    if not buttons:
        return
    for column, (label, key, doing, action) in zip(
        st.columns(len(buttons) + 2), buttons, strict=False
    ):
        if column.button(label, key=key):
            _run(doing, action)


def uncertain_chunks(ledger: Ledger, upload_id: int) -> None:
    """Each uncertain request of an upload with the risk explained and Resend / Drop buttons."""
    chunks = ledger.chunks_in_state("uncertain", upload_id=upload_id)
    if not chunks:
        return
    st.warning(RESEND_RISK, icon=":material/help:")
    for chunk in chunks:
        chunk_id = int(chunk["id"])
        text, resend, drop = st.columns([4, 1, 1], vertical_alignment="center")
        text.write(
            f"Request {chunk['sequence']}: {chunk['documents']} documents, sent "
            f"{describe.age(chunk.get('updated_at'))}."
        )
        if chunk.get("error"):
            untrusted.caption(chunk["error"], where=text)
        who = auth.submitter_name() or None
        if resend.button("Resend", key=f"resend_{chunk_id}"):
            _run(
                "resending the documents",
                partial(resolve_uncertain, ledger, chunk_id, "resend", resolved_by=who),
            )
        if drop.button("Drop", key=f"drop_{chunk_id}"):
            _run(
                "dropping the documents",
                partial(resolve_uncertain, ledger, chunk_id, "drop", resolved_by=who),
            )
