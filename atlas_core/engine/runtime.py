"""The runtime the pages and the CLI share: settings, the ledger, a lazy client, maybe a sandbox."""

from __future__ import annotations

import errno
import logging
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Settings
from ..errors import ConfigError
from ..ledger import Ledger
from ..ledger.targets import SANDBOX_TARGET, describe_target, normalise_base_url

if TYPE_CHECKING:
    from ..client import AtlasClient
    from ..sandbox import SandboxServer  # loaded only when the sandbox runs

log = logging.getLogger(__name__)


class Runtime:
    """Effective settings, the ledger, a lazily built client and the sandbox it started, if any."""

    def __init__(
        self, settings: Settings, ledger: Ledger, sandbox: SandboxServer | None = None
    ) -> None:
        self.settings = settings
        self.ledger = ledger
        self.sandbox = sandbox
        self._client: AtlasClient | None = None
        self._lock = threading.Lock()

    @property
    def uses_sandbox(self) -> bool:
        """True when this runtime talks to the built-in sandbox rather than Atlas."""
        return self.sandbox is not None or self.settings.uses_sandbox

    @property
    def banner(self) -> str | None:
        """A plain sentence saying the sandbox stands in for Atlas, or None when it does not."""
        if self.sandbox is None:
            if self.settings.uses_sandbox:  # opened for the ledger alone: no sandbox is running
                return (
                    "The built-in Atlas sandbox stands in for Atlas (no ATLAS_BASE_URL is set): "
                    "no real documents are processed."
                )
            return None
        return (
            f"Using the built-in Atlas sandbox at {self.sandbox.url} (no ATLAS_BASE_URL is set): "
            "no real documents are processed."
        )

    @property
    def target(self) -> str:
        """The Atlas this runtime works for: "sandbox", or the base URL without credentials."""
        return self.ledger.target or target_for(self.settings)

    def scope_note(self, *, always: bool = False) -> str | None:
        """A plain sentence naming the Atlas whose work is shown, and what other work is hidden.

        None when the ledger holds no other Atlas's work (nothing to explain), unless ``always``.
        """
        others = self.ledger.other_targets()
        if not others and not always:
            return None
        text = f"Showing work sent to {describe_target(self.target)}."
        if others:
            text += " Hidden here: " + "; ".join(
                f"{o['uploads']:,} upload(s) sent to {describe_target(o['target'])}" for o in others
            ) + "."
        return text

    @property
    def client(self) -> AtlasClient:
        """The Atlas client, built on first use and shared by every thread."""
        from ..client import AtlasClient  # requests: loaded only by a runtime that calls Atlas

        with self._lock:
            if self._client is None:
                self._client = AtlasClient.from_settings(self.settings)
            return self._client

    def close(self) -> None:
        """Close the client, stop the sandbox this runtime started, release the ledger."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None
        self.ledger.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def target_for(settings: Settings) -> str:
    """Which Atlas these settings work for: "sandbox" without a base URL, else the URL normalised.

    The one rule for the ledger's target (see ledger/targets.py); credentials in the URL are
    never part of it.
    """
    return SANDBOX_TARGET if settings.uses_sandbox else normalise_base_url(settings.base_url or "")


def place_unknown_work(ledger: Ledger, sandbox_state_path: str | Path) -> int:
    """Move work from before targets were recorded to "sandbox" when the sandbox's journal holds it.

    The journal lists every batch the built-in sandbox accepted, and its ids are random enough
    never to meet a real one. Returns how many batches moved.
    """
    if not Path(sandbox_state_path).is_file() or not ledger.unknown_batches():
        return 0
    from ..sandbox.journal import Journal

    try:
        ids = [str(r["batch_id"]) for r in Journal(sandbox_state_path).read_new()]
    except OSError as exc:  # an unreadable journal leaves the work unknown, as it was
        log.warning("could not read the sandbox journal %s: %s", sandbox_state_path, exc)
        return 0
    moved = ledger.place_sandbox_batches(ids) if ids else 0
    if moved:
        log.info("%d batch(es) recorded before targets were found in the sandbox's journal", moved)
    return moved


def refuse_private_sandbox(settings: Settings) -> None:
    """Raise ConfigError when a process sharing its ledger would start a sandbox of its own.

    With ATLAS_DATABASE_URL (or a dashboard leaving its work to worker services), several
    processes share the ledger; each built-in sandbox is a different Atlas, so a batch one process
    sent could never be refreshed by another. They must all talk to one Atlas.
    """
    if not settings.uses_sandbox:
        return
    if settings.database_url:
        why = "The ledger is shared (ATLAS_DATABASE_URL is set)"
    elif not settings.embedded_worker:
        why = "Worker services do this dashboard's work (ATLAS_EMBEDDED_WORKER=0)"
    else:
        return
    raise ConfigError(
        f"{why}, so every process must talk to one Atlas; the built-in sandbox of each process"
        " would be a different one, and the batches one sends could not be refreshed by another.",
        hint="Run `python -m atlas_core sandbox` once and give every dashboard and worker the"
             " ATLAS_BASE_URL, ATLAS_CLIENT_ID and ATLAS_CLIENT_SECRET it prints (or set them to"
             " Atlas itself).",
    )


def open_runtime(
    settings: Settings, *, sandbox_behaviour: Mapping[str, Any] | None = None, ledger_only: bool = False
) -> Runtime:
    """Open the ledger for this Atlas (creating its folder) and, without a base URL, the sandbox.

    ``ledger_only`` starts no sandbox, for a command that only reads the ledger (``status``).
    The dashboard and the CLI call ``refuse_private_sandbox`` first: a process sharing its ledger
    gets no sandbox of its own (a test may still open one in-process).
    """
    if not settings.database_url:  # a PostgreSQL ledger has no folder to make
        Path(settings.db_path).parent.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(settings.ledger_location, target=target_for(settings))
    place_unknown_work(ledger, settings.sandbox_state_path)
    sandbox = None
    journal = Path(settings.sandbox_state_path)
    if settings.uses_sandbox and ledger_only and journal.is_dir():
        # Refused as the sandbox would refuse it, so that every command says so alike.
        ledger.close()
        raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(journal))
    if settings.uses_sandbox and not ledger_only:
        from ..sandbox import Behaviour, SandboxServer

        Path(settings.sandbox_state_path).parent.mkdir(parents=True, exist_ok=True)
        behaviour = Behaviour(**dict(sandbox_behaviour or {}))
        sandbox = SandboxServer(state_path=settings.sandbox_state_path, behaviour=behaviour).start()
        settings = settings.with_base_url(sandbox.url, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET)
        log.info("using the built-in sandbox at %s", sandbox.url)
    return Runtime(settings, ledger, sandbox)
