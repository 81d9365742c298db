"""What an upload's card says after sending, beyond its progress: why it waits, whether a pilot
is done, why documents failed. Small helpers, so the Batches list's layout can change around them."""

from __future__ import annotations

from typing import Any

import streamlit as st

from atlas_core.ledger import Ledger
from atlas_core.ledger.rows import UploadRow

from . import describe, failure_view, outage


def after_sending(ledger: Ledger, upload: UploadRow, status: Any) -> None:
    """Why the upload's queued documents wait (Atlas unreachable, credentials refused), and the
    pilot's state with what to do next (``status``: the worker's WorkerStatus)."""
    outage.upload_waiting(ledger, upload, status)
    pilot(upload)


def pilot(upload: UploadRow) -> None:
    """'Pilot done: 4,776 rows held; send the rest' (or, while it runs, how many rows wait)."""
    sentence = describe.pilot_sentence(upload)
    if sentence is None:
        return
    if sentence.startswith("Pilot done"):
        st.info(f"**{sentence}**: check its results, then press *Send the rest*.",
                icon=":material/flag:")
    else:
        st.caption(sentence + ".")


def failures(ledger: Ledger, upload: UploadRow) -> None:
    """Failure reasons with counts, split into 'fix the file or link' and 'retry may help'."""
    found = failure_view.reasons(ledger, upload)
    if found:
        with st.expander(f"Why {sum(r.documents for r in found):,} documents failed", expanded=True):
            failure_view.breakdown(ledger, upload, found)
