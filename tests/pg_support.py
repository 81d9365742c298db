"""A throwaway PostgreSQL cluster for the tests: Debian's server binaries on a temp dir and a free port.

``initdb``/``pg_ctl`` refuse to run as root, so as root they run as the ``postgres`` user
(``su postgres -c ...``); as anyone else, as that user. The cluster listens on 127.0.0.1 only,
with fsync off (a test cluster is thrown away, never recovered), and each test gets a database of
its own (``fresh_database``), made in a few milliseconds.

Locally, without PostgreSQL's server binaries, the PostgreSQL variants skip; under CI (``CI`` set)
they fail instead, so a CI machine that lost PostgreSQL cannot pass by skipping them.
"""

from __future__ import annotations

import itertools
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PG_VERSIONS = ("17", "16", "15", "14", "13")


def server_bindir() -> Path | None:
    """The folder of Debian's PostgreSQL server binaries (initdb, pg_ctl), or None."""
    override = os.environ.get("ATLAS_TEST_PG_BINDIR")
    if override:
        return Path(override)
    for version in PG_VERSIONS:
        path = Path(f"/usr/lib/postgresql/{version}/bin")
        if (path / "initdb").exists() and (path / "pg_ctl").exists():
            return path
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def unavailable(reason: str) -> None:
    """Skip locally; fail under CI, where PostgreSQL must be there (scripts/test.sh installs it)."""
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required under CI: {reason}", pytrace=False)
    pytest.skip(f"no PostgreSQL server here ({reason}); scripts/test.sh installs it")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A started throwaway cluster: its URL, a maker of fresh databases, and stop()."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="atlas-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self.user = "postgres"
        self._as_root = os.geteuid() == 0
        self._names = itertools.count(1)
        try:
            if self._as_root:
                shutil.chown(self.root, user="postgres")
            self._run(f"{self.bindir / 'initdb'} -D {self.data} -A trust -U {self.user} --no-sync"
                      " -E UTF8 --locale=C.UTF-8")
            self.start()
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    def _run(self, command: str) -> None:
        cmd = ["su", "postgres", "-c", command] if self._as_root else ["sh", "-c", command]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{command!r} failed: {done.stdout}{done.stderr}")

    def start(self) -> None:
        """Start (or restart) the server on its port."""
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root}"
                   " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                   " -c max_connections=300")
        self._run(f"{self.bindir / 'pg_ctl'} -D {self.data} -o {shlex.quote(options)}"
                  f" -l {self.root / 'server.log'} -w -t 60 start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate`` is a crash as far as the data is concerned)."""
        self._run(f"{self.bindir / 'pg_ctl'} -D {self.data} -m {mode} -w -t 60 stop")

    def url(self, database: str = "postgres") -> str:
        """The URL of one database of this cluster, over TCP."""
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{database}"

    def fresh_database(self) -> str:
        """A new empty database's URL."""
        import psycopg

        name = f"atlas_{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def remove(self) -> None:
        """Stop the server and delete its files."""
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


def start_cluster() -> Iterator[Cluster | str]:
    """Yield a started cluster, or the reason none can start here; stop and delete it after."""
    bindir = server_bindir()
    if bindir is None:
        yield "initdb/pg_ctl not found"
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        yield "psycopg is not installed"
        return
    try:
        cluster = Cluster(bindir)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        yield f"the test cluster did not start: {exc}"
        return
    try:
        yield cluster
    finally:
        cluster.remove()


def another_location(request: pytest.FixtureRequest) -> str:
    """A second fresh ledger on the same engine as the test's ``ledger_location``."""
    if request.node.callspec.params.get("ledger_location") == "postgresql":
        return str(request.getfixturevalue("postgres_cluster").fresh_database())
    return str(request.getfixturevalue("tmp_path") / f"another-{next(_others)}.db")


_others = itertools.count(1)


def ledger_env(location: str | os.PathLike[str]) -> dict[str, str]:
    """The environment variable that points a CLI process at a ledger location of either engine."""
    text = str(location)
    return {"ATLAS_DATABASE_URL": text} if text.startswith("postgresql://") else {"ATLAS_DB_PATH": text}


def ledger_exists(location: str | os.PathLike[str]) -> bool:
    """True once a process made the ledger (a PostgreSQL test database exists from the start)."""
    text = str(location)
    return text.startswith("postgresql://") or Path(text).exists()


def settings_on(settings: Any, location: str) -> Any:
    """``settings`` with the ledger at ``location`` (a file path or a PostgreSQL URL)."""
    if location.startswith("postgresql://"):
        return settings.replace(database_url=location)
    return settings.replace(db_path=location)
