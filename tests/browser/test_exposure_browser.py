"""Who can reach the dashboard, and whom it reaches: loopback only, in both directions.

Started as the README says, the server listens on 127.0.0.1 only (no sign-in without [auth]);
and opening it asks no host but its own: a request elsewhere tells a third party who uses the
dashboard and when (the page icon used to be fetched from fonts.gstatic.com).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import Page, expect
from screens import settle

pytestmark = pytest.mark.browser

PAGES = {"Upload": "", "Batches": "batches", "Results": "results", "Connection": "connection"}
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 90  # two shared cores: a cold Streamlit start can take a while
LOCAL_SCHEMES = {"data", "blob", "about", "chrome-extension"}  # never leave the browser


def foreign(urls: list[str]) -> list[str]:
    """The URLs that would leave this machine."""
    return [
        url for url in urls
        if urlsplit(url).scheme not in LOCAL_SCHEMES and urlsplit(url).hostname not in LOCAL_HOSTS
    ]  # fmt: skip


def test_loading_every_page_asks_no_other_host(dashboard, page: Page):
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    for title, path in PAGES.items():
        page.goto(f"{dashboard.url}/{path}")
        settle(page)
        expect(page.get_by_role("heading", name=title, exact=True)).to_be_visible()
    page.wait_for_timeout(1_000)  # a favicon is fetched after the page settles
    assert asked, "no request was recorded at all"
    assert foreign(asked) == []
    icons = page.eval_on_selector_all("link[rel~='icon']", "links => links.map(l => l.href)")
    assert icons and foreign(icons) == []


@pytest.mark.parametrize(
    ("url", "leaves"),
    [
        (
            "https://fonts.gstatic.com/s/i/short-term/release/materialsymbolsrounded/x/24px.svg",
            True,
        ),
        ("http://127.0.0.1:8501/media/abc.png", False),
        ("http://localhost:8501/_stcore/health", False),
        ("data:image/png;base64,AAAA", False),
        ("http://192.0.2.1/beacon.png", True),
    ],
)
def test_the_check_tells_local_from_foreign(url, leaves):
    assert bool(foreign([url])) is leaves


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the TCP sockets listening on ``port`` (Linux /proc/net/tcp*)."""
    found = set()
    for table, loopback in (
        ("/proc/net/tcp", "0100007F"),
        ("/proc/net/tcp6", "0" * 24 + "01000000"),
    ):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
                found.add("loopback" if address == loopback else address)
    return found


def test_started_as_the_readme_says_it_listens_on_loopback_only(tmp_path):
    # No --server.address: .streamlit/config.toml decides, as for `streamlit run app.py`.
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("[atlas]\nproduct_types = 'POC_CDL'\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATLAS_", "STREAMLIT_"))}
    env.update(ATLAS_DB_PATH=str(tmp_path / "atlas.db"),
               ATLAS_SANDBOX_STATE_PATH=str(tmp_path / "sandbox.jsonl"))  # fmt: skip
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
               "--server.port", str(port), "--server.fileWatcherType", "none",
               "--secrets.files", str(secrets)]  # fmt: skip
    log = (tmp_path / "streamlit.log").open("wb")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not listening_addresses(port) and time.monotonic() < deadline:
            assert process.poll() is None, (tmp_path / "streamlit.log").read_text()
            time.sleep(0.3)
        assert listening_addresses(port) == {"loopback"}
        assert requests.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=30).ok
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        log.close()
