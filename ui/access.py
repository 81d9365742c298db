"""Who may use the dashboard: the sign-in allow-list, and whether the server is reachable at all.

Plain Python (no Streamlit) so the rules are easy to read and test: ``ui.auth`` applies them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# The [atlas] keys and their ATLAS_* variables (the environment wins, as for every setting).
EMAILS_KEY, DOMAINS_KEY = "allowed_emails", "allowed_domains"
LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}
UNIX_SOCKET_PREFIX = "unix://"  # Streamlit's server.address form for a local socket


def _items(value: Any) -> list[str]:
    """A TOML list, or one string of names separated by commas, spaces or new lines."""
    if value is None:
        return []
    if isinstance(value, str):
        return [v for v in re.split(r"[\s,;]+", value) if v]
    if isinstance(value, Iterable):
        return [str(v).strip() for v in value if str(v).strip()]
    return [str(value).strip()]


def _domain(text: str) -> str:
    return text.strip().lower().lstrip("@").rstrip(".")


@dataclass(frozen=True)
class AllowList:
    """The accounts that may use the dashboard once signed in; empty means every account."""

    emails: frozenset[str] = frozenset()
    domains: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, secrets: Mapping[str, Any], environ: Mapping[str, str]) -> AllowList:
        """From the [atlas] table, then ATLAS_ALLOWED_EMAILS / ATLAS_ALLOWED_DOMAINS on top."""
        values = {key: secrets.get(key) for key in (EMAILS_KEY, DOMAINS_KEY)}
        for key in values:
            from_env = environ.get(f"ATLAS_{key.upper()}")
            if from_env is not None and from_env.strip():
                values[key] = from_env
        return cls(
            emails=frozenset(e.lower() for e in _items(values[EMAILS_KEY])),
            domains=frozenset(_domain(d) for d in _items(values[DOMAINS_KEY])),
        )

    @property
    def configured(self) -> bool:
        """True when at least one email or domain is listed."""
        return bool(self.emails or self.domains)

    def allows(self, email: str | None, *, verified: bool | None = None) -> bool:
        """Whether this signed-in email may use the dashboard (no list: every account may)."""
        if not self.configured:
            return True
        if not email or verified is False:  # a provider that says "not verified" proves nothing
            return False
        email = email.strip().lower()
        local, at, domain = email.rpartition("@")
        return email in self.emails or bool(local and at and _domain(domain) in self.domains)


def listens_beyond_loopback(address: str | None) -> bool:
    """True when Streamlit's ``server.address`` lets other machines connect (unset: all of them)."""
    if address is None or not address.strip():
        return True  # Streamlit's default: every interface
    address = address.strip()
    if address.startswith(UNIX_SOCKET_PREFIX) or address.lower() in LOOPBACK_NAMES:
        return False
    try:
        return not ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return True  # a host name: assume it resolves to a network interface
