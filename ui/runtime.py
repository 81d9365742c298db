"""The runtime (ledger, client, sandbox) and its background worker: one per server process.

Several analysts share one Streamlit server, so the runtime lives in st.cache_resource, not in
a session: the worker keeps submitting and refreshing after every tab is closed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import astuple, dataclass
from typing import TYPE_CHECKING, Any

import streamlit as st

from atlas_core.config import Settings
from atlas_core.errors import ConfigError
from atlas_core.sandbox import Behaviour

from .settings import load_settings

if TYPE_CHECKING:  # the engine is imported when the runtime is first opened
    from atlas_core.engine.runtime import Runtime
    from atlas_core.engine.worker import Worker

logger = logging.getLogger(__name__)

SANDBOX_BEHAVIOUR_ENV = "ATLAS_SANDBOX_BEHAVIOUR"  # JSON object of sandbox Behaviour switches


@dataclass
class Handle:
    """What the cache holds: the runtime and the worker started for it (None on a replica run
    with ATLAS_EMBEDDED_WORKER=0, whose work worker services do)."""

    runtime: Runtime
    worker: Worker | None


def sandbox_behaviour() -> dict[str, Any] | None:
    """The sandbox switches from ATLAS_SANDBOX_BEHAVIOUR, or None when unset."""
    raw = os.environ.get(SANDBOX_BEHAVIOUR_ENV, "").strip()
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        raise ConfigError(f"{SANDBOX_BEHAVIOUR_ENV} is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{SANDBOX_BEHAVIOUR_ENV} must be a JSON object of switches.")
    try:
        Behaviour.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{SANDBOX_BEHAVIOUR_ENV} is not usable: {exc}.") from None
    return data


def _fingerprint(settings: Settings, behaviour: dict[str, Any] | None) -> str:
    # A digest, so the cache key never holds the client secret in clear.
    raw = repr((astuple(settings), sorted((behaviour or {}).items())))
    return hashlib.sha256(raw.encode()).hexdigest()


def _release(handle: Handle) -> None:
    try:
        if handle.worker is not None:
            handle.worker.stop()
    finally:
        handle.runtime.close()


@st.cache_resource(show_spinner="Opening the ledger…", on_release=_release, max_entries=1)
def _open(fingerprint: str, _settings: Settings, _behaviour: dict[str, Any] | None) -> Handle:
    from atlas_core.engine import Worker, open_runtime

    runtime = open_runtime(_settings, sandbox_behaviour=_behaviour)
    if not _settings.embedded_worker:
        logger.info("Runtime opened without a worker (ATLAS_EMBEDDED_WORKER=0)")
        return Handle(runtime=runtime, worker=None)
    try:
        worker = Worker(runtime)
        worker.identity.kind = "dashboard"  # how the other dashboards' sidebars name it
        worker.start()
    except BaseException:
        runtime.close()
        raise
    logger.info("Runtime opened (sandbox=%s), worker started", runtime.settings.uses_sandbox)
    return Handle(runtime=runtime, worker=worker)


def handle() -> Handle:
    """The process-wide runtime and worker for the current settings, opened on first use."""
    from atlas_core.engine.runtime import refuse_private_sandbox

    settings = load_settings()
    refuse_private_sandbox(settings)  # a shared ledger needs one shared Atlas (issue 13)
    behaviour = sandbox_behaviour()
    current = _open(_fingerprint(settings, behaviour), settings, behaviour)
    if current.worker is not None and not current.worker.alive:
        # The cache outlives the thread: a worker that died is started again on the next page
        # run, instead of the page showing a stale dead worker until the server restarts.
        logger.warning("The background worker was not running; starting it again")
        current.worker.start()
    return current


def runtime() -> Runtime:
    """The process-wide Runtime (ledger, client, sandbox and effective settings)."""
    return handle().runtime


def worker() -> Any:
    """The process-wide background worker (its status says whether Atlas answers), or None on a
    replica without one (ATLAS_EMBEDDED_WORKER=0)."""
    return handle().worker


def _announce(signal: str) -> None:
    # Through the ledger, so every worker hears it: this dashboard's, other replicas', services'.
    current = handle()
    if current.worker is not None:
        current.worker.announce(signal)
    else:
        current.runtime.ledger.send_signal(signal)


def wake_worker() -> None:
    """Let every worker start its next cycle now (after work was queued), not after its pause."""
    _announce("work")


def refresh_now() -> None:
    """Have every worker poll every unfinished batch in its next cycle, which starts now."""
    _announce("refresh")
