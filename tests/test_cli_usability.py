"""The command line as an analyst or a cron job meets it, each case through the real CLI.

Unknown ids end in one line and exit 2; `refresh --wait` sums up every poll; `-v` goes anywhere;
every option explains itself and `--help` ends with the exit codes; an export to a format we do
not write and `--sheet` on a CSV are refused; `sandbox` prints lines a shell can run; and the
ledger is the same one from any folder, through `python -m atlas_core` or `atlas-bulk`.
"""

from __future__ import annotations

import csv
import importlib
import json
import os
import signal
import subprocess
import sys
import tomllib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from atlas_core.cli import build_parser, exitcodes
from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120


def run(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """``python -m atlas_core ARGS`` in ``cwd`` with only the ATLAS_* variables given."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    environ.update(PYTHONPATH=str(ROOT), **env)
    return subprocess.run([sys.executable, "-m", "atlas_core", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=TIMEOUT)


@pytest.fixture
def atlas_env(sandbox, tmp_path) -> dict[str, str]:
    """ATLAS_* variables pointing the CLI at the sandbox fixture, the ledger under tmp_path."""
    return {"ATLAS_BASE_URL": sandbox.url, "ATLAS_CLIENT_ID": SANDBOX_CLIENT_ID,
            "ATLAS_CLIENT_SECRET": SANDBOX_CLIENT_SECRET, "ATLAS_DB_PATH": str(tmp_path / "atlas.db"),
            "ATLAS_SANDBOX_STATE_PATH": str(tmp_path / "sandbox.jsonl"), "ATLAS_MAX_RETRIES": "0"}


def write_sheet(path: Path, ids: list[str]) -> Path:
    """A CSV of ids (those starting with F get a URL the sandbox cannot read)."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["document_id", "file_url"])
        for d in ids:
            writer.writerow([d, f"https://docs.test/{'unreadable' if d.startswith('F') else 'ok'}/{d}.jpg"])
    return path


def assert_one_line(result: subprocess.CompletedProcess, code: int, *words: str) -> None:
    """Nothing on stdout; stderr one ``error:`` line naming ``words``; the exit code."""
    lines = result.stderr.splitlines()
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert result.returncode == code, result.stderr
    assert result.stdout == ""
    for word in words:
        assert word in lines[0]


@pytest.mark.parametrize("ready", [True, False], ids=["results-ready", "results-arriving"])
def test_refresh_wait_says_what_it_did_over_all_polls(atlas_env, tmp_path, sandbox, ready):
    sent = run(tmp_path, "submit", str(write_sheet(tmp_path / "d.csv", ["A1", "A2", "A3", "F1"])),
               "--product-type", "POC_CDL", "--chunk-size", "2", **atlas_env)
    assert sent.returncode == exitcodes.OK, sent.stderr
    if ready:
        sandbox.advance(60)
    # Arriving: results come over the sandbox's processing time, so --wait polls more than once
    # and its last poll may find nothing new; the line still counts every poll.
    done = run(tmp_path, "refresh", "--wait", "--timeout", "60", **atlas_env)
    assert done.returncode == exitcodes.OK, done.stderr
    assert done.stdout.strip() == "2 batches finished: 3 extracted, 1 failed; 0 still processing."
    # Nothing left to do: a second run says so, rather than repeating the counts.
    again = run(tmp_path, "refresh", "--wait", **atlas_env)
    assert again.stdout.strip() == "0 batches finished: 0 extracted, 0 failed; 0 still processing."


@pytest.mark.parametrize(("args", "named"), [
    (["status", "--upload", "42"], "upload 42"),
    (["status", "--upload", "42", "--json"], "upload 42"),
    (["export", "--output", "{tmp}/out.csv", "--upload", "42"], "upload 42"),
    (["export", "--output", "{tmp}/out.csv", "--batch", "no-such-batch"], "batch no-such-batch"),
    (["retry-failed", "--upload", "42"], "upload 42"),
    (["retry-failed", "--batch", "no-such-batch"], "batch no-such-batch"),
    (["resolve-uncertain", "--chunk", "42", "--action", "resend"], "request 42"),
    (["send-held", "--upload", "42"], "upload 42"),
    (["cancel", "--upload", "42"], "upload 42"),
    (["refresh", "--batch", "no-such-batch"], "batch no-such-batch"),
])
def test_an_id_that_does_not_exist_is_one_line_and_exit_2(atlas_env, tmp_path, sandbox, args, named):
    run(tmp_path, "status", **atlas_env)  # an existing, empty ledger
    result = run(tmp_path, *[a.format(tmp=tmp_path) for a in args], **atlas_env)
    assert_one_line(result, exitcodes.UNREADABLE, named, "status")
    assert not (tmp_path / "out.csv").exists()
    assert sandbox.received_uploads() == []


def test_an_id_that_exists_still_works(atlas_env, tmp_path):
    run(tmp_path, "submit", str(write_sheet(tmp_path / "d.csv", ["A1"])), "--product-type", "POC_CDL",
        "--pilot", "0", **atlas_env)
    result = run(tmp_path, "cancel", "--upload", "1", **atlas_env)
    assert result.returncode == exitcodes.OK and "upload 1" in result.stdout, result.stderr


@pytest.mark.parametrize("args", [["-v", "status", "--json"], ["status", "-v", "--json"],
                                  ["status", "--json", "--verbose"]])
def test_verbose_before_or_after_the_command(tmp_path, args):
    result = run(tmp_path, *args, ATLAS_DB_PATH=str(tmp_path / "atlas.db"))
    assert result.returncode == exitcodes.OK, result.stderr
    assert json.loads(result.stdout)["batches"] == []


@pytest.mark.parametrize(("args", "verbose"), [
    (["status"], False), (["-v", "status"], True), (["status", "-v"], True),
    (["-v", "export", "--output", "x.csv", "--verbose"], True),
])
def test_verbose_is_read_wherever_it_stands(args, verbose):
    assert build_parser().parse_args(args).verbose is verbose


def test_every_option_of_every_command_has_help_text():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    silent = [f"{name} {action.option_strings or action.dest}"
              for name, command in sub.choices.items() for action in command._actions
              if not (action.help or "").strip()]
    assert silent == []
    assert all((choice.help or "").strip() for choice in sub._choices_actions)


@pytest.mark.parametrize("args", [["--help"], ["export", "--help"], ["sandbox", "--help"]])
def test_help_ends_with_the_exit_codes(tmp_path, args):
    result = run(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    tail = result.stdout.rstrip().split("\n\n")[-1].splitlines()
    assert tail[0] == "exit codes:"
    assert [int(line.split()[0]) for line in tail[1:]] == [0, 1, 2, 3, 4, 5, 6, 130]


@pytest.mark.parametrize("name", ["out.pdf", "results.txt", "report.XLS"])
def test_export_to_a_format_not_written_is_refused(tmp_path, name):
    result = run(tmp_path, "export", "--output", str(tmp_path / name),
                 ATLAS_DB_PATH=str(tmp_path / "atlas.db"))
    assert_one_line(result, exitcodes.UNREADABLE, name, "csv", "xlsx", "json")
    assert not (tmp_path / name).exists()


def test_export_with_an_explicit_format_or_a_known_suffix_still_writes(tmp_path):
    for args in (["--output", str(tmp_path / "a.json")],
                 ["--output", str(tmp_path / "b.txt"), "--format", "csv"]):
        result = run(tmp_path, "export", *args, ATLAS_DB_PATH=str(tmp_path / "atlas.db"))
        assert result.returncode == exitcodes.OK, result.stderr
    assert json.loads((tmp_path / "a.json").read_text()) == []
    assert "document_id" in (tmp_path / "b.txt").read_text(encoding="utf-8-sig").splitlines()[0]


@pytest.mark.parametrize("command", [["validate"], ["submit", "--product-type", "POC_CDL"]])
def test_sheet_on_a_csv_is_refused(atlas_env, tmp_path, sandbox, command):
    path = write_sheet(tmp_path / "docs.csv", ["A1"])
    result = run(tmp_path, command[0], str(path), *command[1:], "--sheet", "Sheet2", **atlas_env)
    assert_one_line(result, exitcodes.UNREADABLE, "--sheet", "docs.csv")
    assert sandbox.received_uploads() == []


def test_export_and_cancel_start_no_sandbox(tmp_path):
    """With no ATLAS_BASE_URL, commands that only use the ledger start no built-in sandbox."""
    journal = tmp_path / "sandbox.jsonl"
    env = {"ATLAS_DB_PATH": str(tmp_path / "atlas.db"), "ATLAS_SANDBOX_STATE_PATH": str(journal)}
    export = run(tmp_path, "-v", "export", "--output", str(tmp_path / "out.csv"), **env)
    assert export.returncode == exitcodes.OK, export.stderr
    assert "built-in sandbox" not in export.stderr  # the INFO line a started sandbox logs
    # A started sandbox opens (creates) its journal; one never started leaves none.
    assert not journal.exists()
    cancel = run(tmp_path, "-v", "cancel", "--upload", "1", **env)
    assert cancel.returncode == exitcodes.UNREADABLE and not journal.exists()


@pytest.fixture
def cli_sandbox(tmp_path) -> Iterator[subprocess.Popen]:
    """``python -m atlas_core sandbox --port 0``, stopped by SIGTERM (then killed) afterwards."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    proc = subprocess.Popen([sys.executable, "-m", "atlas_core", "sandbox", "--port", "0", "--state", ""],
                            cwd=tmp_path, env={**environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()


def test_sandbox_prints_lines_a_shell_can_run(cli_sandbox, tmp_path):
    printed = []
    while not printed or "Ctrl-C" not in printed[-1]:
        line = cli_sandbox.stdout.readline()
        assert line, cli_sandbox.stderr.read()
        printed.append(line)
    url = next(line.split()[-1] for line in printed if "listening on" in line)
    # Pasting all of it into a shell runs without an error and sets the variables.
    shell = subprocess.run(
        ["bash", "-euc", "".join(printed) + 'printf "%s\\n" "$ATLAS_BASE_URL" "$ATLAS_CLIENT_ID"'
         ' "$ATLAS_CLIENT_SECRET"; env | grep -c "^ATLAS_"'],
        env={"PATH": os.environ["PATH"]}, capture_output=True, text=True, timeout=TIMEOUT,
    )
    assert shell.returncode == 0 and shell.stderr == "", shell.stderr
    assert shell.stdout.split() == [url, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, "3"]
    assert sum(line.startswith("export ATLAS_") for line in printed) == 3


def test_sandbox_export_lines_are_shell_quoted():
    from atlas_core.cli.sandbox import shell_lines

    lines = shell_lines("http://127.0.0.1:1/a b;$(x)", "/tmp/j").splitlines()
    assert "export ATLAS_BASE_URL='http://127.0.0.1:1/a b;$(x)'" in lines


@pytest.fixture
def relative_ledger() -> Iterator[str]:
    """A relative ATLAS_DB_PATH under the checkout's data/ folder (ignored by git), removed after."""
    relative = f"data/test-anywhere-{uuid.uuid4().hex}.db"
    try:
        yield relative
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            (ROOT / f"{relative}{suffix}").unlink(missing_ok=True)


def test_the_ledger_is_the_same_from_any_folder(tmp_path, relative_ledger, monkeypatch):
    env = {"ATLAS_DB_PATH": relative_ledger, "ATLAS_SANDBOX_STATE_PATH": "data/no-such-journal.jsonl"}
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    made = run(elsewhere, "status", "--json", **env)
    assert made.returncode == exitcodes.OK, made.stderr
    assert (ROOT / relative_ledger).is_file() and not (elsewhere / "data").exists()
    from_root = run(ROOT, "status", "--json", **env)
    from_elsewhere = run(elsewhere, "status", "--json", **env)
    assert from_root.returncode == from_elsewhere.returncode == exitcodes.OK, from_elsewhere.stderr
    assert from_root.stdout == from_elsewhere.stdout
    # The dashboard reads the same relative path against the same folder.
    import ui.settings
    from atlas_core.cli import paths

    monkeypatch.setenv("ATLAS_DB_PATH", relative_ledger)
    assert ui.settings.load_settings().db_path == paths.settings_from_environment(os.environ).db_path
    assert Path(ui.settings.load_settings().db_path) == ROOT / relative_ledger


def test_the_console_script_is_declared_and_resolves_to_main():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    module, _, name = project["project"]["scripts"]["atlas-bulk"].partition(":")
    entry = getattr(importlib.import_module(module), name)
    with pytest.raises(SystemExit) as shown:
        entry(["--help"])
    assert shown.value.code == 0
    assert project["tool"]["setuptools"]["dynamic"]["dependencies"] == {"file": ["requirements.txt"]}
    assert project["tool"]["setuptools"]["packages"]["find"]["include"] == ["atlas_core", "atlas_core.*"]
    assert "dependencies" in project["project"]["dynamic"]
