"""Settings: one frozen object, built once at the edge from a mapping.

The mapping is the environment, the ``[atlas]`` table of ``.streamlit/secrets.toml`` or CLI flags.
Keys are the documented ``ATLAS_*`` names; inside the ``[atlas]`` table the same names may be
written without the prefix and in lower case (``base_url`` for ``ATLAS_BASE_URL``).
The core never reads the environment on import: callers pass ``os.environ`` explicitly.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError, display_url, remember_secret, remember_url_credentials

# Documented by Atlas.
DEFAULT_AUTH_PATH = "/v1/bulk/authtoken"
MAX_PER_PAGE = 50  # "50 is the maximum" (Bulk extracts)

# Our own defaults: named here so every module and the README agree.
DEFAULT_DB_PATH = "data/atlas.db"
DEFAULT_SANDBOX_STATE_PATH = "data/sandbox.jsonl"
DEFAULT_PRODUCT_TYPES = ("POC_CDL",)
DEFAULT_CHUNK_SIZE = 100
DEFAULT_SUBMIT_CONCURRENCY = 4
DEFAULT_REFRESH_CONCURRENCY = 8
DEFAULT_CONNECT_TIMEOUT = 5.0  # seconds
DEFAULT_READ_TIMEOUT = 60.0  # seconds; Atlas downloads nothing synchronously, but be generous
DEFAULT_MAX_RETRIES = 5
DEFAULT_BACKOFF_BASE = 0.5  # seconds, doubled per attempt
DEFAULT_BACKOFF_CAP = 30.0  # seconds
DEFAULT_TOKEN_MARGIN = 60.0  # mint a new token this long before expires_in runs out
DEFAULT_STALLED_AFTER = 30 * 60.0  # a batch with no progress for this long is "stalled"
DEFAULT_MAX_FILE_MB = 50
DEFAULT_MAX_ROWS = 2_000_000
DEFAULT_REVIEW_THRESHOLD = 0.80
DEFAULT_REVIEW_SAMPLE_RATE = 0.02  # share of the confident documents a person checks anyway (QC)
DEFAULT_REVIEW_LEASE = 15 * 60.0  # seconds a reviewer holds a document before others may take it
# Issue 13: requests in flight to Atlas across every worker sharing the ledger (two workers' lanes),
# so adding workers never multiplies the load Atlas sees.
DEFAULT_MAX_IN_FLIGHT = 8

# Credentials the built-in sandbox accepts; they are not secrets.
SANDBOX_CLIENT_ID = "sandbox-client"
SANDBOX_CLIENT_SECRET = "sandbox-secret"


@dataclass(frozen=True)
class Settings:
    """Everything the core needs to talk to Atlas and keep its ledger."""

    base_url: str | None = None
    client_id: str | None = field(default=None, repr=False)
    client_secret: str | None = field(default=None, repr=False)
    auth_path: str = DEFAULT_AUTH_PATH
    product_types: tuple[str, ...] = DEFAULT_PRODUCT_TYPES
    db_path: str = DEFAULT_DB_PATH
    sandbox_state_path: str = DEFAULT_SANDBOX_STATE_PATH
    chunk_size: int = DEFAULT_CHUNK_SIZE
    submit_concurrency: int = DEFAULT_SUBMIT_CONCURRENCY
    refresh_concurrency: int = DEFAULT_REFRESH_CONCURRENCY
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    backoff_base: float = DEFAULT_BACKOFF_BASE
    backoff_cap: float = DEFAULT_BACKOFF_CAP
    token_margin: float = DEFAULT_TOKEN_MARGIN
    stalled_after: float = DEFAULT_STALLED_AFTER
    max_file_mb: int = DEFAULT_MAX_FILE_MB
    max_rows: int = DEFAULT_MAX_ROWS
    review_threshold: float = DEFAULT_REVIEW_THRESHOLD
    review_sample_rate: float = DEFAULT_REVIEW_SAMPLE_RATE
    review_lease: float = DEFAULT_REVIEW_LEASE
    # issue 13: the ledger on PostgreSQL (postgresql://user:password@host/db); unset, SQLite at
    # db_path. Never in repr: its password is a secret like client_secret.
    database_url: str | None = field(default=None, repr=False)
    # Issue 13 (many workers on one ledger): False runs a dashboard replica without its worker
    # thread (worker services do the work); max_in_flight caps sends across every worker.
    embedded_worker: bool = True
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT

    def __post_init__(self) -> None:
        # Settings are where a secret enters the process: from here on, redact() scrubs it.
        if self.client_secret != SANDBOX_CLIENT_SECRET:  # published in the docs: not a secret
            remember_secret(self.client_secret)
        remember_url_credentials(self.base_url)
        remember_url_credentials(self.database_url)

    @property
    def uses_sandbox(self) -> bool:
        """True when no Atlas base URL is configured, so the built-in sandbox stands in."""
        return not self.base_url

    @property
    def ledger_location(self) -> str:
        """Where the ledger is opened: the PostgreSQL URL when set, else the SQLite file path."""
        return self.database_url or self.db_path

    @property
    def ledger_label(self) -> str:
        """Where the ledger is, safe to show: the database URL without its password, or the file."""
        return display_url(self.database_url) if self.database_url else self.db_path

    @property
    def masked_client_id(self) -> str:
        """The client id with all but its last four characters hidden, safe to show."""
        cid = self.client_id or ""
        return ("*" * max(len(cid) - 4, 4) + cid[-4:]) if cid else "(not set)"

    def with_base_url(self, base_url: str, client_id: str, client_secret: str) -> Settings:
        """A copy pointing at another server (the running sandbox) with its credentials."""
        return dataclasses.replace(self, base_url=base_url, client_id=client_id, client_secret=client_secret)

    def replace(self, **changes: Any) -> Settings:
        """A copy with some fields changed (CLI flags over environment)."""
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_mapping(cls, *mappings: Mapping[str, Any]) -> Settings:
        """Build settings from mappings; later ones win (e.g. secrets, then environment, then flags)."""
        merged: dict[str, Any] = {}
        for mapping in mappings:
            for key, value in (mapping or {}).items():
                name = _field_name(str(key))
                if name is not None and value is not None and value != "":
                    merged[name] = value
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            if f.name not in merged:
                continue
            kwargs[f.name] = _coerce(f.name, merged[f.name], f.default)
        settings = cls(**kwargs)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Raise ConfigError with a plain message when a setting cannot work."""
        if self.base_url and not self.base_url.startswith(("http://", "https://")):
            # Without a scheme no pattern can tell user:password@ apart, so such a value is not echoed.
            got = "a value holding '@'" if "@" in self.base_url else repr(self.base_url)
            raise ConfigError(f"ATLAS_BASE_URL must start with http:// or https:// (got {got}).")
        if self.base_url and not (self.client_id and self.client_secret):
            raise ConfigError("ATLAS_BASE_URL is set, but ATLAS_CLIENT_ID or ATLAS_CLIENT_SECRET is missing.")
        if self.database_url and not self.database_url.lower().startswith(("postgresql://", "postgres://")):
            # Anything else may hold a password in a shape no pattern knows: never echoed.
            raise ConfigError("ATLAS_DATABASE_URL must start with postgresql:// (or postgres://).")
        if not self.auth_path.startswith("/"):
            raise ConfigError(f"ATLAS_AUTH_PATH must start with '/' (got {self.auth_path!r}).")
        if not self.product_types:
            raise ConfigError("ATLAS_PRODUCT_TYPES is empty; give at least one product type.")
        for name in ("chunk_size", "submit_concurrency", "refresh_concurrency", "max_file_mb", "max_rows",
                     "max_in_flight"):
            if getattr(self, name) < 1:
                raise ConfigError(f"ATLAS_{name.upper()} must be at least 1.")
        for name in ("review_threshold", "review_sample_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"ATLAS_{name.upper()} must be between 0 and 1.")
        if not self.review_lease > 0 or self.review_lease == float("inf"):
            raise ConfigError("ATLAS_REVIEW_LEASE must be a number of seconds above 0.")
        if self.chunk_size > 1000:
            raise ConfigError("ATLAS_CHUNK_SIZE must be at most 1000 documents per request.")


def _field_name(key: str) -> str | None:
    upper = key.strip().upper()
    if upper.startswith("ATLAS_"):
        upper = upper[len("ATLAS_") :]
    name = upper.lower()
    return name if name in _FIELD_NAMES else None


_FIELD_NAMES = {f.name for f in dataclasses.fields(Settings)}


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}


def _coerce(name: str, value: Any, default: Any) -> Any:
    try:
        if name == "product_types":
            items = value.split(",") if isinstance(value, str) else list(value)
            return tuple(p.strip() for p in items if str(p).strip())
        if name == "base_url":
            return str(value).strip().rstrip("/")
        if isinstance(default, bool):
            # Strict: a typo ("ture") must not switch a worker off without a word.
            word = str(value).strip().lower()
            if word not in _TRUE | _FALSE:
                raise ValueError(word)
            return word in _TRUE
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        return str(value).strip()
    except (TypeError, ValueError):
        raise ConfigError(f"ATLAS_{name.upper()} has an invalid value {value!r}.") from None


def resolve_path(path: str, root: str | Path | None = None) -> Path:
    """A settings path made absolute against ``root`` (the project folder) when relative."""
    p = Path(path)
    return p if p.is_absolute() or root is None else Path(root) / p
