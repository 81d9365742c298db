"""The README is the first thing a newcomer runs: its commands and snippets must stay true."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from atlas_core.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_the_two_setup_commands():
    """The first code block holds exactly two commands: run the dashboard, run the tests."""
    block = re.search(r"```bash\n(.*?)```", README, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == [
        "python3 -m venv .venv && . .venv/bin/activate && pip install -r requirements.txt"
        " && streamlit run app.py",
        "bash scripts/test.sh",
    ]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "bash scripts/test.sh" in ci


def test_every_cli_command_is_documented():
    """Every sub-command of python -m atlas_core has a row in the README's command table."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    documented = set(re.findall(r"^\| `([a-z-]+)[ `]", README.split("cli-commands")[1], re.M))
    assert set(sub.choices) == documented


def _command_rows() -> dict[str, str]:
    """Each command's row of the README's command table, by command name."""
    rows = re.findall(r"^\| `([a-z-]+)([ `].*)$", README.split("cli-commands")[1], re.M)
    return {name: rest for name, rest in rows}


def test_every_option_of_every_command_is_documented():
    """Each option of each command is in that command's row; -v and the exit codes are there too."""
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    rows = _command_rows()
    missing = []
    for name, command in sub.choices.items():
        for action in command._actions:
            options = [o for o in action.option_strings if o.startswith("--")]
            if not options or options[0] in ("--help", "--verbose"):
                continue
            if not any(re.search(rf"{re.escape(o)}\b", rows.get(name, "")) for o in options):
                missing.append(f"{name} {options[0]}")
    assert missing == []
    section = README.split("## Command line", 1)[1].split("\n## ", 1)[0]
    assert "`-v`" in section and "before or after the command" in section
    for code in ("`0`", "`2`", "`5`", "`6`", "`130`"):
        assert code in section


def test_the_first_command_makes_its_own_virtual_environment():
    """A stock Debian/Ubuntu Python refuses a bare pip install (PEP 668): the venv comes first."""
    block = re.search(r"```bash\n(.*?)```", README, re.S).group(1)
    first = block.strip().splitlines()[0].split("#")[0]
    steps = [step.strip() for step in first.split("&&")]
    assert steps[:2] == ["python3 -m venv .venv", ". .venv/bin/activate"]
    assert steps.index("pip install -r requirements.txt") > 1
    script = (ROOT / "scripts" / "test.sh").read_text(encoding="utf-8")
    assert ".venv/bin/python" in script  # the tests use that environment when it exists


def test_client_snippet_runs_against_the_sandbox():
    """The README's Python snippet submits three URLs and prints three documents' fields."""
    snippet = re.search(r"```python\n(.*?)```", README, re.S).group(1)
    out = subprocess.run(
        [sys.executable, "-c", snippet], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if line.startswith("doc-")]
    assert sorted(line.split()[0] for line in lines) == ["doc-1", "doc-2", "doc-3"]
    assert "document_type" in out.stdout


def _settings_table() -> dict[str, str]:
    """The README's configuration table: each ATLAS_* variable and the default written for it."""
    section = README.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    table: dict[str, str] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`ATLAS_"):
            continue
        names = re.findall(r"`ATLAS_([A-Z_]+)`", cells[0])
        defaults = re.findall(r"`([^`]*)`", cells[2])
        for i, name in enumerate(names):
            assert name.lower() not in table, f"ATLAS_{name} has two rows"
            table[name.lower()] = defaults[i] if len(defaults) == len(names) else ""
    return table


def _as_written(value: object) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def test_the_configuration_table_lists_every_setting_and_only_those():
    """Every Settings field has a row (with its default where one is shown), and no row is extra."""
    import dataclasses

    from atlas_core.config import Settings

    table = _settings_table()
    fields = {f.name: f.default for f in dataclasses.fields(Settings)}
    assert sorted(table) == sorted(fields)
    written = {name: default for name, default in table.items() if default}
    assert written == {name: _as_written(fields[name]) for name in written}
