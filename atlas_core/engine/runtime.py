"""The runtime the pages and the CLI share: settings, the ledger, a lazy client, maybe a sandbox."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..client import AtlasClient
from ..config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Settings
from ..ledger import Ledger

log = logging.getLogger(__name__)


class Runtime:
    """Effective settings, the ledger, a lazily built client and the sandbox it started, if any."""

    def __init__(self, settings: Settings, ledger: Ledger, sandbox: Any = None) -> None:
        self.settings = settings
        self.ledger = ledger
        self.sandbox = sandbox
        self._client: AtlasClient | None = None
        self._lock = threading.Lock()

    @property
    def uses_sandbox(self) -> bool:
        """True when this runtime talks to the built-in sandbox rather than Atlas."""
        return self.sandbox is not None

    @property
    def banner(self) -> str | None:
        """A plain sentence saying the sandbox stands in for Atlas, or None when it does not."""
        if self.sandbox is None:
            return None
        return (
            f"Using the built-in Atlas sandbox at {self.sandbox.url} (no ATLAS_BASE_URL is set): "
            "no real documents are processed."
        )

    @property
    def client(self) -> AtlasClient:
        """The Atlas client, built on first use and shared by every thread."""
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


def open_runtime(
    settings: Settings, *, sandbox_behaviour: Mapping[str, Any] | None = None
) -> Runtime:
    """Open the ledger (creating its folder) and, without a base URL, start the sandbox."""
    Path(settings.db_path).parent.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(settings.db_path)
    sandbox = None
    if settings.uses_sandbox:
        from ..sandbox import Behaviour, SandboxServer

        Path(settings.sandbox_state_path).parent.mkdir(parents=True, exist_ok=True)
        behaviour = Behaviour(**dict(sandbox_behaviour or {}))
        sandbox = SandboxServer(state_path=settings.sandbox_state_path, behaviour=behaviour).start()
        settings = settings.with_base_url(sandbox.url, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET)
        log.info("using the built-in sandbox at %s", sandbox.url)
    return Runtime(settings, ledger, sandbox)
