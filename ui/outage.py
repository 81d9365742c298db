"""Whether Atlas answers, on the pages: the sidebar's Atlas box and an upload's "waiting" line.

The worker asks Atlas for a token on start and on a schedule (atlas_core.engine.health); these
helpers only show its last answer. Every reason may quote Atlas, so it goes through untrusted.text.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from atlas_core.engine.health import (
    REFUSED,
    UNREACHABLE,
    AtlasHealth,
    short_reason,
    waiting_sentence,
)
from atlas_core.ledger import Ledger
from atlas_core.ledger.rows import UploadRow

from . import describe, untrusted


def worker_status(worker: Any) -> Any:
    """The worker's status: its state, next try and last token probe (``.atlas``); None without
    a worker in this process (a replica: worker services do the work)."""
    return None if worker is None else worker.status()


def atlas_health(worker: Any) -> AtlasHealth | None:
    """The worker's last token probe (None before the first, or without a worker here)."""
    return None if worker is None else getattr(worker.status(), "atlas", None)


def sidebar_box(base_url: str | None, health: AtlasHealth | None, *, sandbox: bool) -> None:
    """The Atlas box: green when the last call worked, amber when Atlas cannot be reached, red
    when it refused the credentials, blue while the first probe is under way."""
    where = "the sandbox" if sandbox else f"`{describe.safe_url(base_url)}`"
    if health is not None and health.state == REFUSED:
        st.error(
            f"**Atlas refused the credentials** ({where}): {untrusted.text(health.reason)}. "
            "Nothing is sent until the client id and secret are fixed; see the Connection page.",
            icon=":material/key_off:",
        )
    elif health is not None and health.state == UNREACHABLE:
        st.warning(
            f"**Can't reach Atlas** at {where}: {untrusted.text(short_reason(health.reason))}. Queued work "
            f"waits and is tried again; last checked {describe.age(health.checked_at)}.",
            icon=":material/cloud_off:",
        )
    elif sandbox:
        st.warning("**Sandbox**: simulated Atlas, test data only.", icon=":material/science:")
    elif health is None or not health.ok:
        st.info(f"Atlas: {where} (checking that it answers…)", icon=":material/cloud_sync:")
    else:
        st.success(f"Atlas: {where}", icon=":material/cloud_done:")


def upload_waiting(ledger: Ledger, upload: UploadRow, status: Any) -> None:
    """On an upload's card: why its queued documents wait and when they are tried next.

    ``status`` is the worker's (WorkerStatus, or None): its last probe, and when paused, the
    time of its next try (later than the requests' own schedule).
    """
    if not upload.get("queued"):
        return
    health = getattr(status, "atlas", None)
    paused = status is not None and getattr(status, "state", "running") != "running"
    resume_at = getattr(status, "next_try_at", None) if paused else None
    sentence = waiting_sentence(health, ledger.sending_trouble(int(upload["id"])),
                                resume_at=resume_at)
    if sentence is None:
        return
    if sentence.startswith("Atlas refused"):
        st.error(untrusted.text(sentence) + ". Fix the credentials on the server; nothing is lost.",
                 icon=":material/key_off:")
    else:
        st.warning(untrusted.text(sentence) + ". Nothing is lost; sending resumes once Atlas answers.",
                   icon=":material/cloud_off:")
