"""The CLI on a shared ledger: a process that shares it is refused a sandbox of its own."""

from __future__ import annotations

import pytest
from test_cli_jobs import cli, sheet

SHARED_URL = "postgresql://atlas:pg-s3cret-pw@127.0.0.1:9/atlas"  # never reached: refused first


@pytest.fixture
def shared(tmp_path, monkeypatch) -> None:
    """A shared ledger (ATLAS_DATABASE_URL) and no ATLAS_BASE_URL: nothing but defaults."""
    for key in ("ATLAS_BASE_URL", "ATLAS_CLIENT_ID", "ATLAS_CLIENT_SECRET"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ATLAS_DB_PATH", str(tmp_path / "atlas.db"))
    monkeypatch.setenv("ATLAS_SANDBOX_STATE_PATH", str(tmp_path / "sandbox.jsonl"))
    monkeypatch.setenv("ATLAS_DATABASE_URL", SHARED_URL)


@pytest.mark.parametrize("command", [["worker"], ["resume"], ["refresh"], ["submit"]])
def test_a_command_that_calls_atlas_is_refused_a_private_sandbox(shared, tmp_path, capsys, command):
    if command == ["submit"]:
        command = ["submit", str(sheet(tmp_path, ["A1"])), "--product-type", "POC_CDL"]
    code, out, err = cli(capsys, *command)
    assert code == 3, err  # a configuration error
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: The ledger is shared"), err
    assert "python -m atlas_core sandbox" in err and "ATLAS_BASE_URL" in err
    assert "pg-s3cret-pw" not in out + err
    assert not (tmp_path / "sandbox.jsonl").exists()  # no sandbox was started


def test_a_replica_environment_refuses_the_worker_a_private_sandbox(tmp_path, monkeypatch, capsys):
    for key in ("ATLAS_BASE_URL", "ATLAS_CLIENT_ID", "ATLAS_CLIENT_SECRET", "ATLAS_DATABASE_URL"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ATLAS_DB_PATH", str(tmp_path / "atlas.db"))
    monkeypatch.setenv("ATLAS_EMBEDDED_WORKER", "0")
    code, _, err = cli(capsys, "worker")
    assert code == 3 and "ATLAS_EMBEDDED_WORKER=0" in err


def test_a_mistyped_switch_is_refused_rather_than_read_as_off(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ATLAS_DB_PATH", str(tmp_path / "atlas.db"))
    monkeypatch.setenv("ATLAS_EMBEDDED_WORKER", "ture")
    code, _, err = cli(capsys, "status")
    assert code == 3 and "ATLAS_EMBEDDED_WORKER has an invalid value 'ture'" in err
