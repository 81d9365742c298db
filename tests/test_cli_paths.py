"""Unusable paths end a command with one plain line on stderr and exit 2, through the real CLI.

Each case runs ``python -m atlas_core`` as a subprocess, as a cron job would: an output into a
missing folder or onto a folder, and an ATLAS_DB_PATH (or sandbox journal) that cannot be used.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from atlas_core.cli import exitcodes

ROOT = Path(__file__).resolve().parent.parent
NOT_SQLITE = b"document_id,file_url\nA,https://x.test/a.jpg\n"


def run_cli(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run one command with the ledger and journal under tmp_path unless ``env`` says otherwise."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    environ.update(
        {
            "ATLAS_DB_PATH": str(tmp_path / "atlas.db"),
            "ATLAS_SANDBOX_STATE_PATH": str(tmp_path / "sandbox.jsonl"),
            **env,
        }
    )
    return subprocess.run(
        [sys.executable, "-m", "atlas_core", *args],
        cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def assert_one_plain_line(result: subprocess.CompletedProcess, *words: str) -> None:
    """Exit 2, and stderr is one line starting with ``error:`` that names what is wrong."""
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert result.returncode == exitcodes.UNREADABLE, result.stderr
    for word in words:
        assert word in lines[0]


@pytest.fixture
def sheet(tmp_path: Path) -> Path:
    """A readable one-row spreadsheet."""
    path = tmp_path / "sheet.csv"
    path.write_bytes(NOT_SQLITE)
    return path


@pytest.fixture
def not_sqlite(tmp_path: Path) -> Path:
    """A file that is not a SQLite database (a CSV someone pointed ATLAS_DB_PATH at)."""
    path = tmp_path / "not-a-ledger.db"
    path.write_bytes(NOT_SQLITE)
    return path


def test_export_into_a_missing_folder(tmp_path):
    target = tmp_path / "missing" / "results.csv"
    result = run_cli(tmp_path, "export", "--output", str(target))
    assert_one_plain_line(result, str(target), "does not exist")
    assert not target.parent.exists()


@pytest.mark.parametrize("suffix", ["", ".csv"])
def test_export_onto_a_folder(tmp_path, suffix):
    target = tmp_path / f"out{suffix}"
    target.mkdir()
    result = run_cli(tmp_path, "export", "--output", str(target))
    assert_one_plain_line(result, str(target), "folder")
    assert list(target.iterdir()) == []


def test_export_below_a_file(tmp_path, not_sqlite):
    result = run_cli(tmp_path, "export", "--output", str(not_sqlite / "results.csv"))
    assert_one_plain_line(result, "not a folder")


@pytest.mark.parametrize("command", [["status"], ["export", "--output", "{out}"], ["worker"]])
def test_a_ledger_path_that_is_a_folder(tmp_path, command):
    folder = tmp_path / "ledger-folder"
    folder.mkdir()
    args = [a.format(out=tmp_path / "out.csv") for a in command]
    result = run_cli(tmp_path, *args, ATLAS_DB_PATH=str(folder))
    assert_one_plain_line(result, "ATLAS_DB_PATH", str(folder), "folder")
    assert list(folder.iterdir()) == []


def test_a_ledger_file_that_is_not_sqlite(tmp_path, not_sqlite):
    result = run_cli(tmp_path, "status", ATLAS_DB_PATH=str(not_sqlite))
    assert_one_plain_line(result, "ATLAS_DB_PATH", "not a database")
    assert not_sqlite.read_bytes() == NOT_SQLITE  # refused, not overwritten


@pytest.mark.parametrize(
    "where",
    [
        "/proc/atlas-ledger.db",  # /proc refuses new files even to root
        "/proc/atlas-missing/atlas.db",
        "{file}/atlas.db",  # below a file
    ],
)
def test_a_ledger_in_an_unwritable_place(tmp_path, not_sqlite, where):
    result = run_cli(tmp_path, "status", ATLAS_DB_PATH=where.format(file=not_sqlite))
    assert_one_plain_line(result, "ATLAS_DB_PATH")


def test_validate_reports_an_unusable_ledger_in_one_line(tmp_path, sheet, not_sqlite):
    result = run_cli(tmp_path, "validate", str(sheet), ATLAS_DB_PATH=str(not_sqlite))
    assert_one_plain_line(result, "ATLAS_DB_PATH", "not a database")


@pytest.mark.parametrize("where", ["missing/problems.csv", "folder", "folder/"])
def test_validate_problems_file_that_cannot_be_written(tmp_path, sheet, where):
    (tmp_path / "folder").mkdir()
    result = run_cli(tmp_path, "validate", str(sheet), "--problems-file", str(tmp_path / where))
    assert_one_plain_line(result, "--problems-file")
    assert not (tmp_path / "missing").exists() and list((tmp_path / "folder").iterdir()) == []


def test_a_sandbox_journal_that_is_a_folder(tmp_path):
    folder = tmp_path / "journal-folder"
    folder.mkdir()
    result = run_cli(tmp_path, "status", ATLAS_SANDBOX_STATE_PATH=str(folder))
    assert_one_plain_line(result, "ATLAS_SANDBOX_STATE_PATH", "folder")


def test_sandbox_state_onto_a_folder(tmp_path):
    result = run_cli(tmp_path, "sandbox", "--port", "0", "--state", str(tmp_path))
    assert_one_plain_line(result, "--state", "folder")


def test_a_usable_output_still_gets_written(tmp_path):
    target = tmp_path / "results.csv"
    result = run_cli(tmp_path, "export", "--output", str(target))
    assert result.returncode == exitcodes.OK, result.stderr
    assert "document_id" in target.read_text(encoding="utf-8-sig").splitlines()[0]
