"""The built-in Atlas: a real HTTP server on loopback that behaves like the documented Bulk API."""

from ..config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from .behaviour import Behaviour
from .server import SandboxServer

__all__ = ["SANDBOX_CLIENT_ID", "SANDBOX_CLIENT_SECRET", "Behaviour", "SandboxServer"]
