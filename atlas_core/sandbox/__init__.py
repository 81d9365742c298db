"""The built-in Atlas: a real HTTP server on loopback that behaves like the documented Bulk API.

``Behaviour`` and ``SandboxServer`` are imported on first use, so reading the journal (as the
runtime does when it opens a ledger) does not load the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports
from ..config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET

if TYPE_CHECKING:
    from .behaviour import Behaviour
    from .server import SandboxServer

__all__ = ["SANDBOX_CLIENT_ID", "SANDBOX_CLIENT_SECRET", "Behaviour", "SandboxServer"]

__getattr__, __dir__ = lazy_exports(__name__, {"behaviour": ("Behaviour",), "server": ("SandboxServer",)})
