"""deploy/backup/backup-ledger.sh and restore-ledger.sh, on both engines, as docs/deployment.md runs them.

A ledger with sent, finished and queued work is backed up while it is open, restored into an
empty location, and the restored ledger must be a working one: the same documents, results and
duplicate-ID memory, and the CLI sends what was still queued from it.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from pg_support import ledger_env
from test_engine_worker import queue, wait_for

from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from atlas_core.ledger import Ledger
from atlas_core.ledger import states as S

ROOT = Path(__file__).resolve().parents[1]
BACKUP = ROOT / "deploy" / "backup" / "backup-ledger.sh"
RESTORE = ROOT / "deploy" / "backup" / "restore-ledger.sh"


def script_env(location: str) -> dict[str, str]:
    """The environment a dashboard or worker of this ledger has (nothing else of the test's)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    return {**env, **ledger_env(location)}


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a script or the CLI from the checkout, as an operator's shell would."""
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def empty_location(request: pytest.FixtureRequest, ledger_location: str, tmp_path: Path) -> str:
    """Where to restore: an empty database on the same cluster, or a file that does not exist."""
    if ledger_location.startswith("postgresql://"):
        return str(request.getfixturevalue("postgres_cluster").fresh_database())
    return str(tmp_path / "restored" / "atlas.db")


def cli(location: str, sandbox_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m atlas_core ARGS`` on this ledger and the sandbox."""
    env = {**script_env(location), "PYTHONPATH": str(ROOT), "ATLAS_BASE_URL": sandbox_url,
           "ATLAS_CLIENT_ID": SANDBOX_CLIENT_ID, "ATLAS_CLIENT_SECRET": SANDBOX_CLIENT_SECRET}
    return run([sys.executable, "-m", "atlas_core", *args], env)


def test_a_backup_restores_into_a_working_ledger(request, ledger_location, sandbox, tmp_path):
    ledger = Ledger(ledger_location)
    queue(ledger, ["B1", "B2", "B3", "B4"], chunk_size=2)
    sent = cli(ledger_location, sandbox.url, "resume")
    assert sent.returncode == 0, sent.stderr
    assert wait_for(lambda: cli(ledger_location, sandbox.url, "refresh").returncode == 0 and
                    {d["state"] for d in ledger.iter_documents()} == {S.EXTRACTED}, 60)
    later = queue(ledger, ["Q1", "Q2"])  # still queued when the backup is taken
    before = sorted((d["document_id"], d["state"], d["file_data"]) for d in ledger.iter_documents())

    made = run(["sh", str(BACKUP), str(tmp_path / "backups")], script_env(ledger_location))
    assert made.returncode == 0, made.stderr
    backup = Path(made.stdout.strip())
    assert backup.is_file() and backup.parent == tmp_path / "backups"
    assert not list(backup.parent.glob("*.partial"))
    assert backup.stat().st_mode & 0o077 == 0  # only its owner reads the results it holds

    target = empty_location(request, ledger_location, tmp_path)
    Path(tmp_path / "restored").mkdir(exist_ok=True)
    restored = run(["sh", str(RESTORE), str(backup)], script_env(target))
    assert restored.returncode == 0, restored.stderr

    copy = Ledger(target)
    assert sorted((d["document_id"], d["state"], d["file_data"]) for d in copy.iter_documents()) == before
    assert set(copy.known_ids(["B1", "Q2", "NEW"])) == {"B1", "Q2"}  # duplicates still caught
    # Working, not just readable: the CLI sends the upload that was queued at backup time.
    resumed = cli(target, sandbox.url, "resume")
    assert resumed.returncode == 0, resumed.stderr
    assert copy.upload(later)["queued"] == 0
    assert sandbox.accept_counts().get("Q1") == 1


def test_the_restore_never_overwrites_a_ledger(tmp_path):
    existing = tmp_path / "atlas.db"
    Ledger(str(existing))
    backup = tmp_path / "atlas-old.db"
    backup.write_bytes(existing.read_bytes())
    env = script_env(str(existing))
    done = run(["sh", str(RESTORE), str(backup)], env)
    assert done.returncode == 2 and "already exists" in done.stderr
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\x00" * 4096)
    env = script_env(str(tmp_path / "new.db"))
    done = run(["sh", str(RESTORE), str(damaged)], env)
    assert done.returncode != 0 and not (tmp_path / "new.db").exists()
    assert sqlite3.connect(existing).execute("PRAGMA integrity_check").fetchone() == ("ok",)
