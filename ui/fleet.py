"""The sidebar of a dashboard replica without its own worker: the workers the ledger knows."""

from __future__ import annotations

import streamlit as st

from atlas_core.engine.fleet import known_workers
from atlas_core.ledger import Ledger

from . import describe

NO_WORKER = (
    "No worker is running: queued work waits until a `python -m atlas_core worker` service "
    "starts on this ledger."
)


def other_workers(ledger: Ledger, own_id: str) -> None:
    """Beside a dashboard's own worker: the other workers sharing the ledger, when there are any."""
    others = [w for w in known_workers(ledger) if w.worker_id != own_id]
    if others:
        st.text("\n".join(["Other workers on this ledger:"] + [f"- {w.describe()}" for w in others]))


def sidebar_workers(ledger: Ledger, base_url: str | None, *, sandbox: bool) -> None:
    """Say that worker services do the work, and list them (alive or stale, heartbeat, doing)."""
    where = "the sandbox" if sandbox else f"`{describe.safe_url(base_url)}`"
    st.info(f"Atlas: {where}. Work is done by worker services sharing this ledger.",
            icon=":material/dns:")
    workers = known_workers(ledger)
    alive = [w for w in workers if w.alive]
    if not alive:
        st.warning(NO_WORKER, icon=":material/warning:")
    # Plain text: a host name or an error may quote anything.
    st.text("\n".join([f"Workers: {len(alive)} alive, {len(workers) - len(alive)} stale"]
                      + [f"- {w.describe()}" for w in workers]))
