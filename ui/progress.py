"""Progress of an upload as the ledger records it: a bar and the counts, as plain text."""

from __future__ import annotations

import streamlit as st

from atlas_core.ledger import Ledger
from atlas_core.ledger import states as S
from atlas_core.ledger.rows import UploadRow

from . import describe, untrusted

STATE_LABELS = {
    S.QUEUED: "waiting to be sent",
    S.SUBMITTED: "with Atlas",
    S.EXTRACTED: "extracted",
    S.FAILED: "failed",
    S.UNCERTAIN: "uncertain (need a decision)",
    S.REJECTED: "refused by Atlas",
    S.CANCELLED: "cancelled",
}


def counts_sentence(row: UploadRow) -> str:
    """'120 documents: 100 extracted, 15 failed, 5 with Atlas' (states with zero left out)."""
    parts = [f"{n:,} {label}" for s, label in STATE_LABELS.items() if (n := _count(row, s))]
    total = int(row.get("documents") or 0)
    return f"{total:,} documents" + (": " + ", ".join(parts) if parts else "")


def _count(row: UploadRow, state: str) -> int:
    # A state's count, looked up by name: the row holds one per document state.
    value = row.get(state)
    return int(value) if isinstance(value, int | float) else 0


def is_finished(row: UploadRow) -> bool:
    """True when nothing of the upload is waiting to be sent or waiting for Atlas."""
    return not any(row.get(s) for s in (S.QUEUED, S.SUBMITTED, S.UNCERTAIN))


def upload_progress(row: UploadRow, *, named: bool = True) -> None:
    """A progress bar for one upload with its counts and age (named: with its id and file)."""
    progress = float(row.get("progress") or 0.0)
    label = f"{progress:.0%} finished"
    pilot = describe.pilot_sentence(row)
    if pilot is not None and pilot.startswith("Pilot done"):
        label = pilot  # not "100% finished": most of the sheet is still to send
    if named:
        label = f"Upload {row['id']} · {untrusted.text(row.get('file_name') or 'upload')} · {label}"
    st.progress(min(max(progress, 0.0), 1.0), text=label)
    st.caption(f"{counts_sentence(row)} · submitted {describe.age(row.get('created_at'))}")


def state_badge(label: str) -> None:
    """An upload or batch state as a coloured badge."""
    st.badge(label, color=describe.STATE_COLOURS.get(label, "gray"))


def upload_unfinished(ledger: Ledger, upload_id: int) -> bool:
    """True while the upload has documents waiting to be sent or waiting for Atlas."""
    row = ledger.upload(upload_id)
    return row is not None and not is_finished(row)
