"""Which Atlas a piece of work was sent to, and the one rule that scopes the ledger to it.

A sandbox trial and real Atlas may share one ledger file. Every upload, chunk and batch records
its *target*: ``"sandbox"`` for the built-in sandbox, or the Atlas base URL normalised and without
credentials (``https://api.atlas.example``). A ledger opened for a target reads and sends only
that target's work; one opened without a target (tests, tools) sees every target.

Rows written before targets were recorded carry ``"unknown"``. Sandbox batch ids look exactly
like Atlas's, so the ledger alone cannot tell them apart; the runtime moves the ones the sandbox's
own journal holds to ``"sandbox"`` (see ``engine.runtime``). What stays unknown counts as work of
every real Atlas, as it did before: an in-flight real batch keeps being polled after the update,
and no ID it holds is sent twice. The sandbox never takes unknown work, so a trial can neither
send nor poll, and so bill, anything that may be real. An unknown batch becomes the Atlas's that
answers for it, and an unknown upload becomes a target's once every batch it has is that target's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

SANDBOX_TARGET = "sandbox"
UNKNOWN_TARGET = "unknown"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalise_base_url(base_url: str) -> str:
    """The base URL as a target: scheme and host in lower case, no credentials, query or fragment."""
    parts = urlsplit(base_url.strip())
    scheme = parts.scheme.lower()
    host = parts.hostname or ""  # hostname drops user:pass@ and lower-cases
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # a port that is not a number: keep none rather than fail
        port = None
    netloc = host if port is None or port == _DEFAULT_PORTS.get(scheme) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path.rstrip('/')}"


def describe_target(target: str) -> str:
    """A target in words, for captions and the CLI."""
    if target == SANDBOX_TARGET:
        return "the built-in sandbox"
    if target == UNKNOWN_TARGET:
        return "an Atlas this ledger did not record (work from before targets were recorded)"
    return target


class TargetScope:
    """The targets a ledger reads and sends for, as SQL terms; ``None`` means every target."""

    def __init__(self, target: str | None) -> None:
        self.target = target
        if target is None:
            self.targets: tuple[str, ...] | None = None
        elif target == SANDBOX_TARGET:
            self.targets = (SANDBOX_TARGET,)
        else:
            self.targets = (target, UNKNOWN_TARGET)

    @property
    def write_target(self) -> str:
        """What new uploads, chunks and batches record as their target."""
        return self.target or UNKNOWN_TARGET

    @property
    def scoped(self) -> bool:
        """True when some targets' work is out of sight."""
        return self.targets is not None

    def positional(self, column: str) -> tuple[str, list[Any]]:
        """``column IN (?, ...)`` and its arguments, or an always-true term when unscoped."""
        if self.targets is None:
            return "1", []
        return f"{column} IN ({', '.join('?' * len(self.targets))})", list(self.targets)

    def named(self, column: str) -> tuple[str, dict[str, Any]]:
        """``column IN (:scope_0, ...)`` and its arguments, or an always-true term when unscoped."""
        if self.targets is None:
            return "1", {}
        names = {f"scope_{i}": t for i, t in enumerate(self.targets)}
        return f"{column} IN ({', '.join(':' + n for n in names)})", names

    def uploads_positional(self, column: str) -> tuple[str, list[Any]]:
        """``column IN (ids of the uploads in scope)``, for tables that hold an upload_id."""
        term, args = self.positional("target")
        if self.targets is None:
            return "1", []
        return f"{column} IN (SELECT id FROM uploads WHERE {term})", args

    def uploads_named(self, column: str) -> tuple[str, dict[str, Any]]:
        """As ``uploads_positional``, with named arguments."""
        term, args = self.named("target")
        if self.targets is None:
            return "1", {}
        return f"{column} IN (SELECT id FROM uploads WHERE {term})", args

    def includes(self, target: str) -> bool:
        """True when work recorded for ``target`` is in scope."""
        return self.targets is None or target in self.targets


def split_by_scope(rows: Sequence[tuple[str, int]], scope: TargetScope) -> list[tuple[str, int]]:
    """The (target, count) rows out of scope, largest first (for 'N hidden' captions)."""
    return sorted(((t, n) for t, n in rows if not scope.includes(t)), key=lambda r: (-r[1], r[0]))
