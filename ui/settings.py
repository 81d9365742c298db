"""Settings for the dashboard: the ``[atlas]`` table of st.secrets, then ``ATLAS_*`` variables."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import streamlit as st

from atlas_core.config import Settings, resolve_path

logger = logging.getLogger(__name__)

# The project folder: relative ledger and journal paths are read against it, not the cwd,
# so `streamlit run /somewhere/app.py` finds the same ledger as the CLI run from the repo.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _secrets_section(name: str) -> Mapping[str, Any] | None:
    try:
        if name not in st.secrets:
            return None
        section = st.secrets[name]
    except FileNotFoundError:  # no secrets.toml at all (StreamlitSecretNotFoundError too)
        return None
    return section if isinstance(section, Mapping) else None


def atlas_secrets() -> dict[str, Any]:
    """The ``[atlas]`` table of st.secrets as a plain dict (empty when there is none)."""
    section = _secrets_section("atlas")
    return {str(k): v for k, v in section.items()} if section else {}


def atlas_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Only the ``ATLAS_*`` variables: unprefixed names such as ``MAX_ROWS`` are not ours."""
    environ = os.environ if environ is None else environ
    return {k: v for k, v in environ.items() if k.upper().startswith("ATLAS_")}


def load_settings() -> Settings:
    """Settings from secrets then the environment (the environment wins), paths made absolute."""
    settings = Settings.from_mapping(atlas_secrets(), atlas_environment())
    return settings.replace(
        db_path=str(resolve_path(settings.db_path, PROJECT_ROOT)),
        sandbox_state_path=str(resolve_path(settings.sandbox_state_path, PROJECT_ROOT)),
    )


def auth_configured() -> bool:
    """True when an ``[auth]`` section makes st.login available."""
    return _secrets_section("auth") is not None
