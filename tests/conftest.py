"""Shared fixtures: the built-in Atlas sandbox on a loopback port, and settings pointing at it.

Every fixture that starts something stops it afterwards. Add project-wide fixtures here, each
with a one-line docstring; fixtures used by one module belong in that module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Settings
from atlas_core.sandbox import Behaviour, SandboxServer

# Small enough that a batch finishes in a blink, large enough that "pending" is observable.
SANDBOX_PROCESSING_SECONDS = 0.2


@pytest.fixture
def make_sandbox(tmp_path) -> Iterator[Callable[..., SandboxServer]]:
    """A factory for started sandboxes (journal under tmp_path unless state_path is given); all stopped after."""
    started: list[SandboxServer] = []

    def make(*, state_path: Any = "default", **switches: Any) -> SandboxServer:
        switches.setdefault("processing_seconds", SANDBOX_PROCESSING_SECONDS)
        if state_path == "default":
            state_path = tmp_path / "sandbox.jsonl"
        server = SandboxServer(state_path=state_path, behaviour=Behaviour(**switches)).start()
        started.append(server)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def sandbox(make_sandbox) -> SandboxServer:
    """A started sandbox with default behaviour, processing_seconds=0.2 and a journal under tmp_path."""
    return make_sandbox()


@pytest.fixture
def sandbox_settings(sandbox, tmp_path) -> Settings:
    """Settings pointing at the ``sandbox`` fixture with its credentials; ledger under tmp_path."""
    return Settings(
        db_path=str(tmp_path / "atlas.db"),
        sandbox_state_path=str(sandbox.state_path),
    ).with_base_url(sandbox.url, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET)


# --- PostgreSQL: one throwaway cluster per session (tests/pg_support.py) ---------------------

ENGINES = ("sqlite", "postgresql")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """The session's throwaway PostgreSQL cluster, or the reason there is none (started lazily)."""
    from pg_support import start_cluster

    started = start_cluster()
    yield next(started)
    started.close()  # runs the generator's finally: the cluster is stopped and deleted


@pytest.fixture
def postgres_cluster(pg_cluster) -> Any:
    """The running cluster; skips locally (fails under CI) when PostgreSQL is not available."""
    from pg_support import unavailable

    if isinstance(pg_cluster, str):
        unavailable(pg_cluster)
    return pg_cluster


@pytest.fixture(params=ENGINES)
def ledger_location(request, tmp_path) -> str:
    """Where a test's ledger lives: a SQLite file under tmp_path, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "atlas.db")
    return str(request.getfixturevalue("postgres_cluster").fresh_database())

