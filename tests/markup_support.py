"""Helpers for the markup tests (no tests here): a loopback beacon, and a ledger full of markup.

The ledger is filled through the real engine from a sandbox with ``markup_in_answers``: batch ids,
error messages and one value per document carry Markdown image/link syntax and HTML pointing at
the beacon; one request answered 500 leaves an uncertain chunk whose error quotes Atlas; and the
spreadsheet's own file name and IDs carry markup too.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Settings
from atlas_core.engine import Worker, open_runtime, plan_upload, queue_upload
from atlas_core.intake import read_spreadsheet, validate_sheet
from atlas_core.sandbox import Behaviour, SandboxServer

SHEET_NAME = "kyc ![f](BEACON) <img src=BEACON>.csv"
DOCUMENTS = 8  # in chunks of 2: the first chunk is answered 500 and stays uncertain


class Beacon:
    """A loopback HTTP server that counts every request it gets (an image a browser fetched)."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        beacon = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                beacon.hits.append(self.path)
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/beacon.png"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()


def markup_sandbox(folder: Path, beacon_url: str) -> SandboxServer:
    """A started sandbox whose answers carry markup pointing at ``beacon_url``."""
    return SandboxServer(
        state_path=folder / "atlas-side.jsonl",
        behaviour=Behaviour(
            processing_seconds=0.2, markup_in_answers=True, markup_beacon=beacon_url
        ),
    ).start()


def fill_ledger(folder: Path, atlas: SandboxServer, beacon_url: str) -> Path:
    """Send a markup-laden sheet through the real engine until every answer is in; the ledger path."""
    name = SHEET_NAME.replace("BEACON", beacon_url)
    lines = ["document_id,file_url"]
    for i in range(DOCUMENTS):
        # Half extracted; of the failures, some to fix (unreadable), some a retry may help (timeout).
        kind = "pan" if i % 2 == 0 else ("unreadable" if i % 4 == 1 else "timeout")
        url = f"https://files.example.com/kyc/{kind}-{i}.jpg"
        lines.append(f"MK{i}-![i]({beacon_url}),{url}")
    db_path = folder / "atlas.db"
    settings = Settings(db_path=str(db_path), chunk_size=2).with_base_url(
        atlas.url, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
    )
    atlas.inject("500", path="multiupload")
    with open_runtime(settings) as runtime:
        sheet = read_spreadsheet(("\n".join(lines) + "\n").encode(), filename=name)
        plan = plan_upload(
            runtime.ledger, sheet, validate_sheet(sheet), product_type="POC_CDL", chunk_size=2
        )
        queue_upload(runtime.ledger, plan)
        worker = Worker(runtime)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            atlas.advance(1.0)
            worker.run_once(force_refresh=True)
            states = [r["state"] for r in runtime.ledger.iter_documents()]
            if states and all(s in ("extracted", "failed", "uncertain") for s in states):
                break
    return db_path
