"""No secret leaves memory: a full flow with a recognisable Client-Secret, then a search for it.

A sandbox with its own credentials stands in for a configured Atlas. The CLI submits, refreshes,
reports status and exports (with -v logging, faults and expiring tokens, and once with a wrong
secret so error paths run); the dashboard renders every page against the same ledger with DEBUG
logging captured. Then every file left behind (the ledger with its -wal, the sandbox journal,
exports, unzipped XLSX parts, logs), the CLI output, the log records and every element the pages
rendered are searched for the client secret and for every token the sandbox minted.
tests/browser/test_secrets_browser.py does the same with the HTML real Chromium shows.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import requests
from test_pages_support import PAGES, open_app, release_runtimes, sheet_csv, wait_until

from atlas_core.ledger import Ledger
from atlas_core.sandbox import Behaviour, SandboxServer

ROOT = Path(__file__).resolve().parents[1]
CLIENT_ID = "acme-bulk-client"
CLIENT_SECRET = "CS-RECOGNISABLE-5e1f0c9a7d3b"

pytestmark = pytest.mark.slow


@pytest.fixture
def atlas(tmp_path):
    """A sandbox with its own credentials, short-lived tokens and a journal under tmp_path."""
    server = SandboxServer(
        state_path=tmp_path / "atlas-side.jsonl",
        behaviour=Behaviour(processing_seconds=0.3, token_lifetime=2.0, fail_rate=0.2),
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
    ).start()
    yield server
    server.stop()


def cli(args: list[str], atlas: SandboxServer, tmp_path: Path, secret: str = CLIENT_SECRET) -> str:
    """Run ``python -m atlas_core -v ARGS`` against ``atlas``; return stdout and stderr together."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    env.update(PYTHONPATH=str(ROOT), ATLAS_BASE_URL=atlas.url, ATLAS_CLIENT_ID=CLIENT_ID,
               ATLAS_CLIENT_SECRET=secret, ATLAS_DB_PATH=str(tmp_path / "atlas.db"),
               ATLAS_PRODUCT_TYPES="POC_CDL", ATLAS_CHUNK_SIZE="3", ATLAS_BACKOFF_BASE="0.01",
               ATLAS_MAX_RETRIES="2")
    done = subprocess.run([sys.executable, "-m", "atlas_core", "-v", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    return f"$ {' '.join(args)} -> {done.returncode}\n{done.stdout}\n{done.stderr}"


def rendered(at) -> str:
    """Every element the app rendered, as protobuf text (dataframes, captions, JSON, buttons...)."""
    out = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            out.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(out)


def file_texts(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` as bytes, and each member of any zip (an XLSX) inflated."""
    found = {}
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        found[str(path.relative_to(folder))] = data
        if data[:4] == b"PK\x03\x04":
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    found[f"{path.name}!{name}"] = archive.read(name)
    return found


def secret_pieces(atlas: SandboxServer) -> list[str]:
    """The client secret, every token minted, and each token's unique parts on their own."""
    tokens = atlas.tokens.issued()
    assert tokens, "the flow minted no token: nothing was tested"
    pieces = [CLIENT_SECRET]
    for token in tokens:
        _header, payload, signature = token.split(".")  # the JWT header is the same for all
        pieces += [token, payload, signature]
    return pieces


def leaks(pieces: list[str], places: dict[str, bytes | str]) -> list[str]:
    """Where any piece appears, as 'place: piece[:12]...'."""
    found = []
    for place, content in places.items():
        data = content.encode("utf-8", "replace") if isinstance(content, str) else content
        for piece in pieces:
            if piece.encode() in data:
                found.append(f"{place}: {piece[:12]}...")
    return found


def test_no_secret_or_token_in_files_logs_output_or_pages(atlas, tmp_path, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    sheet = tmp_path / "sheet.csv"
    sheet.write_bytes(sheet_csv([f"K{i}" for i in range(12)], bad_rows={"K11": "not a link"}))
    outputs: dict[str, str] = {}
    atlas.inject("503", "drop", path="extracts")
    atlas.inject("401", "drop_after_accept", path="multiupload")
    outputs["submit"] = cli(["submit", str(sheet), "--product-type", "POC_CDL", "--json"],
                            atlas, tmp_path)
    atlas.expire_tokens()
    outputs["refresh"] = cli(["refresh", "--wait", "--timeout", "60"], atlas, tmp_path)
    outputs["status"] = cli(["status"], atlas, tmp_path)
    for suffix in ("csv", "xlsx", "json"):
        outputs[f"export {suffix}"] = cli(["export", "--output", str(tmp_path / f"out.{suffix}")],
                                          atlas, tmp_path)
    # A wrong secret that starts with the real one: an echo of it anywhere would be found.
    outputs["wrong secret"] = cli(["submit", str(sheet), "--product-type", "POC_CDL", "--force"],
                                  atlas, tmp_path, secret=CLIENT_SECRET + "-wrong")
    assert '"submitted"' in outputs["submit"] and "Wrote 11 row(s)" in outputs["export csv"]
    assert "error:" in outputs["wrong secret"]

    # The dashboard on the same ledger, configured with the same credentials.
    at = open_app(tmp_path, monkeypatch, "Connection", base_url=atlas.url, client_id=CLIENT_ID,
                  client_secret=CLIENT_SECRET, db_path=str(tmp_path / "atlas.db"))
    at.button(key="test_connection").click().run()
    pages = {"Connection": rendered(at)}
    at.switch_page(PAGES["Upload"]).run()
    at.file_uploader[0].set_value(("more.csv", sheet_csv(["P1", "P2", "P3"]), "text/csv"))
    at.run()
    at.text_input(key="submitter_input").input("Asha").run()
    at.button(key="review").click().run()
    at.button(key="confirm_send").click().run()
    ledger = Ledger(tmp_path / "atlas.db")
    wait_until(lambda: ledger.list_uploads()[1] == 3 and not ledger.queued_work()["queued"],
               "the worker to send")
    for title in ("Upload", "Batches", "Results"):
        at.switch_page(PAGES[title]).run()
        assert not at.exception, [e.value for e in at.exception]
        pages[title] = rendered(at)
    files_while_open = file_texts(tmp_path)  # the ledger's -wal exists while the app holds it
    release_runtimes()

    assert any(name.endswith("atlas.db-wal") for name in files_while_open)
    places: dict[str, bytes | str] = {**files_while_open, **file_texts(tmp_path)}
    places.update({f"output of {k}": v for k, v in outputs.items()})
    places.update({f"page {k}": v for k, v in pages.items()})
    places["log records"] = "\n".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records
    )
    assert len(caplog.records) > 20, "DEBUG logging was not captured"
    assert leaks(secret_pieces(atlas), places) == []


def test_the_search_finds_a_planted_secret(atlas, tmp_path):
    # The search must be able to fail: a token written to a file or a page is found.
    token = requests.post(
        f"{atlas.url}/v1/bulk/authtoken",
        headers={"Client-Id": CLIENT_ID, "Client-Secret": CLIENT_SECRET}, timeout=5,
    ).json()["access_token"]
    (tmp_path / "notes.log").write_text(f"debug: Token: {token.split('.')[2]}\n")
    found = leaks(secret_pieces(atlas), {**file_texts(tmp_path), "page": f"x {CLIENT_SECRET} y"})
    assert "notes.log" in " ".join(found) and "page" in " ".join(found)

