"""Helpers for the AppTest page tests (no tests here): a fresh ledger and sandbox per test.

Dummy secrets are set on ``at.secrets`` so a developer's real secrets.toml is never read, and
the ``ATLAS_*`` environment is cleared so the tests see only what they set. The dashboard's own
in-process sandbox serves every test (a real HTTP server on loopback); the tests read the
ledger file directly to check what the pages did.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import streamlit as st
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from atlas_core.ledger import Ledger

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
PAGES = {
    "Upload": "app_pages/upload.py",
    "Batches": "app_pages/batches.py",
    "Results": "app_pages/results.py",
    "Review": "app_pages/review.py",
    "Connection": "app_pages/connection.py",
}
TIMEOUT = 30  # seconds per script run; two shared cores
WAIT = 30.0  # seconds to wait for the background worker before a test gives up
FAST_SANDBOX = {"processing_seconds": 0.2}
DUMMY_AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "dummy-cookie-secret",
    "client_id": "dummy-oidc-client",
    "client_secret": "dummy-oidc-secret",
    "server_metadata_url": "https://login.example.invalid/.well-known/openid-configuration",
}


def isolate_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, behaviour: dict | None = None
) -> None:
    """Point the ledger and the sandbox journal at tmp_path; drop any other ATLAS_* variable."""
    for name in list(os.environ):
        if name.startswith("ATLAS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ATLAS_DB_PATH", str(tmp_path / "atlas.db"))
    monkeypatch.setenv("ATLAS_SANDBOX_STATE_PATH", str(tmp_path / "sandbox.jsonl"))
    monkeypatch.setenv("ATLAS_SANDBOX_BEHAVIOUR", json.dumps({**FAST_SANDBOX, **(behaviour or {})}))


def open_app(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    page: str | None = None,
    *,
    behaviour: dict | None = None,
    user: dict | None = None,
    **atlas_secrets: object,
) -> AppTest:
    """Run the dashboard (on ``page``) with dummy secrets and a ledger under tmp_path.

    ``user`` turns sign-in on (a dummy ``[auth]`` section) and is who st.user says is there.
    """
    isolate_environment(tmp_path, monkeypatch, behaviour)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets["atlas"] = {"product_types": "POC_CDL,POC_KYC", **atlas_secrets}
    if user is not None:
        at.secrets["auth"] = DUMMY_AUTH
        at.user = user
    at.run()
    if page is not None:
        at.switch_page(PAGES[page]).run()
    return at


def release_runtimes() -> None:
    """Stop every cached runtime (worker and sandbox) via the cache's on_release."""
    st.cache_resource.clear()


@pytest.fixture
def released_runtimes() -> Iterator[None]:
    """After a page test, stop the runtimes it started (page modules use it for every test)."""
    yield
    release_runtimes()


def ledger_of(tmp_path: Path) -> Ledger:
    """The test's ledger file, opened independently of the app (as a second process would)."""
    return Ledger(tmp_path / "atlas.db")


def wait_until(condition: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"gave up waiting for {what}")


def sheet_csv(ids: list[str], *, bad_rows: dict[str, str] | None = None) -> bytes:
    """A CSV of document_id,file_url rows; ``bad_rows`` maps an id to a broken URL."""
    bad_rows = bad_rows or {}
    lines = ["document_id,file_url"]
    for doc_id in ids:
        lines.append(
            f"{doc_id},{bad_rows.get(doc_id, f'https://bucket.s3.amazonaws.com/{doc_id}.jpg')}"
        )
    return ("\n".join(lines) + "\n").encode()


def submit_sheet(
    at: AppTest, data: bytes, *, name: str = "docs.csv", submitter: str = "Asha"
) -> None:
    """Drive the Upload page: choose the file, type a name, review, confirm."""
    at.switch_page(PAGES["Upload"]).run()
    at.file_uploader[0].set_value((name, data, "text/csv"))
    at.run()
    at.text_input(key="submitter_input").input(submitter).run()
    at.button(key="review").click().run()
    at.button(key="confirm_send").click().run()
    assert not at.exception, [e.value for e in at.exception]


def finish_processing(at: AppTest, ledger: Ledger, upload_id: int, documents: int) -> dict:
    """Wait for the worker to send, then press Batches' "Refresh now" until every result is in."""
    wait_until(
        lambda: (
            (ledger.upload(upload_id) or {}).get("submitted", 0)
            + (ledger.upload(upload_id) or {}).get("extracted", 0)
            + (ledger.upload(upload_id) or {}).get("failed", 0)
            == documents
        ),
        "the worker to send",
    )
    at.switch_page(PAGES["Batches"]).run()

    def refreshed() -> dict | None:
        at.button(key="refresh_now").click().run()  # the worker polls Atlas at once
        time.sleep(0.3)
        row = ledger.upload(upload_id)
        if row["extracted"] + row["failed"] != documents:
            return None
        at.run()  # show what the worker stored
        return row

    return wait_until(refreshed, "every result to arrive")


def texts(at: AppTest, *kinds: str) -> str:
    """Everything rendered as the given element kinds (default: text-like ones), as one string."""
    kinds = kinds or (
        "markdown",
        "caption",
        "error",
        "warning",
        "info",
        "success",
        "header",
        "subheader",
        "title",
    )
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def badges(at: AppTest) -> list[str]:
    """The labels of the st.badge elements shown (Streamlit renders them as badge markdown)."""
    return [
        m.group(1)
        for e in at.markdown
        for m in re.finditer(r":[a-z]+-badge\[([^\]]*)\]", str(e.value))
    ]


class Downloads:
    """What the app handed to st.download_button, read back by the button's key.

    AppTest keeps download data in a media manager that lives for one run, so this records it
    as the app registers it: bytes for ordinary buttons, the callable for deferred ones.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.files: dict[str, bytes] = {}
        self.deferred: dict[str, Callable[[], Any]] = {}
        load, add_deferred = MemoryMediaFileStorage.load_and_get_id, MediaFileManager.add_deferred

        def record_file(storage, path_or_data, mimetype, kind, filename=None):
            file_id = load(storage, path_or_data, mimetype, kind, filename)
            if isinstance(path_or_data, bytes):
                self.files[file_id] = path_or_data
            return file_id

        def record_deferred(manager, data_callable, *args, **kwargs):
            file_id = add_deferred(manager, data_callable, *args, **kwargs)
            self.deferred[file_id] = data_callable
            return file_id

        monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", record_file)
        monkeypatch.setattr(MediaFileManager, "add_deferred", record_deferred)

    def data(self, at: AppTest, key: str) -> bytes:
        """The bytes behind the download button with this key (running a deferred maker)."""
        proto = at.download_button(key=key).proto
        if proto.deferred_file_id:
            data = self.deferred[proto.deferred_file_id]()
            return data.encode() if isinstance(data, str) else data
        file_id = proto.url.rsplit("/", 1)[-1].split(".", 1)[0]
        return self.files[file_id]
