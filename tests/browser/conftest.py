"""Browser-test harness: the dashboard as a real `streamlit run` process, driven by Chromium.

Each dashboard gets its own ledger, sandbox journal and secrets file under a tmp dir, so a
developer's data/ and .streamlit/secrets.toml are never touched. Playwright uses Debian's
chromium (`playwright install` cannot download browsers here).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_SECONDS = 90  # two shared cores: a cold Streamlit start can take a while
# Waits, not timed assertions: a rerun on a busy shared machine can take longer than the default 5 s.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Launch Debian's chromium headless instead of a Playwright-downloaded browser."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    """A desktop-sized window, and downloads allowed so tests can read exported files."""
    return {
        **browser_context_args,
        "viewport": {"width": 1440, "height": 1000},
        "accept_downloads": True,
    }


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Dashboard:
    """One running `streamlit run app.py` and where its state lives."""

    url: str
    process: subprocess.Popen
    workdir: Path
    log_path: Path

    def log(self) -> str:
        """What the server printed so far (for failure messages)."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        """Stop this server only, by its PID."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


def start_dashboard(workdir: Path, extra_env: dict[str, str] | None = None) -> Dashboard:
    """Start the dashboard on a free port with its state under ``workdir``; wait until healthy."""
    workdir.mkdir(parents=True, exist_ok=True)
    secrets = workdir / "secrets.toml"
    secrets.write_text("[atlas]\nproduct_types = 'POC_CDL,POC_KYC'\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ATLAS_", "STREAMLIT_"))}
    env.update(
        ATLAS_DB_PATH=str(workdir / "atlas.db"),
        ATLAS_SANDBOX_STATE_PATH=str(workdir / "sandbox.jsonl"),
        **(extra_env or {}),
    )
    port = free_port()
    log_path = workdir / "streamlit.log"
    command = [
        sys.executable, "-m", "streamlit", "run", "app.py",
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--server.fileWatcherType", "none",
        "--browser.gatherUsageStats", "false",
        "--secrets.files", str(secrets),
    ]  # fmt: skip
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    dashboard = Dashboard(f"http://127.0.0.1:{port}", process, workdir, log_path)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"streamlit exited with {process.returncode}:\n{dashboard.log()}")
        try:
            if requests.get(f"{dashboard.url}/_stcore/health", timeout=2).ok:
                return dashboard
        except requests.RequestException:
            pass
        time.sleep(0.3)
    dashboard.stop()
    raise RuntimeError(
        f"streamlit did not answer /_stcore/health in {STARTUP_SECONDS} s:\n{dashboard.log()}"
    )


@pytest.fixture
def launch_dashboard(tmp_path: Path) -> Iterator[Callable[..., Dashboard]]:
    """Start dashboards for one test (each with its own state); all are stopped afterwards."""
    started: list[Dashboard] = []

    def launch(name: str = "app", **extra_env: str) -> Dashboard:
        dashboard = start_dashboard(tmp_path / name, extra_env)
        started.append(dashboard)
        return dashboard

    yield launch
    for dashboard in started:
        dashboard.stop()


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    """One dashboard shared by a module's tests, against a sandbox that behaves well."""
    app = start_dashboard(tmp_path_factory.mktemp("dashboard"))
    yield app
    app.stop()
