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
        "pip install -r requirements.txt && streamlit run app.py",
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
