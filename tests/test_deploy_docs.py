"""docs/deployment.md shows the tested deploy/ files, not a drifting copy of them."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "deployment.md"
NGINX = ROOT / "deploy" / "nginx" / "atlas-dashboard.conf"


def code_blocks(text: str, language: str) -> list[str]:
    """The fenced blocks of one language in a Markdown text."""
    return re.findall(rf"```{language}\n(.*?)```", text, re.S)


def bare(line: str) -> str:
    """A configuration line without its comment and spacing."""
    return " ".join(line.split("#", 1)[0].split())


def test_every_line_of_the_documented_nginx_configuration_is_the_tested_files():
    blocks = code_blocks(DOC.read_text(encoding="utf-8"), "nginx")
    assert len(blocks) == 1
    tested = {bare(line) for line in NGINX.read_text(encoding="utf-8").splitlines()}
    shown = [bare(line) for line in blocks[0].splitlines() if bare(line)]
    assert len(shown) > 10
    assert [line for line in shown if line not in tested] == []


def test_the_deploy_files_the_docs_link_exist():
    links = re.findall(r"\]\(\.\./(deploy/[^)]+)\)", DOC.read_text(encoding="utf-8"))
    assert {"deploy/nginx/atlas-dashboard.conf", "deploy/backup/backup-ledger.sh",
            "deploy/backup/restore-ledger.sh"} <= set(links)
    assert all((ROOT / link).is_file() for link in links), links
