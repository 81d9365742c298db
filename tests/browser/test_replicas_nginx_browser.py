"""Two dashboard replicas behind nginx with sticky sessions, one PostgreSQL ledger, in Chromium.

The set-up is docs/deployment.md's, process for process: one shared ``python -m atlas_core
sandbox`` (the Atlas every process talks to), one ``python -m atlas_core worker`` service, two
``streamlit run app.py`` replicas with ATLAS_EMBEDDED_WORKER=0 on one ATLAS_DATABASE_URL, and
Debian's nginx running deploy/nginx/atlas-dashboard.conf in front of them. Each analyst is a
browser context whose affinity cookie nginx hashes onto one replica; nginx's access log says
which replica answered every request, so the tests know the two analysts are on two replicas.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from ledger_support import chunks_of_upload
from nginx_support import NGINX, Nginx
from pg_support import unavailable
from playwright.sync_api import Browser, Page, expect
from screens import settle

from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from atlas_core.engine import plan_upload, queue_upload
from atlas_core.intake import read_spreadsheet, validate_sheet
from atlas_core.ledger import Ledger
from atlas_core.ledger import states as S
from atlas_core.ledger.signals import WORK

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
GOOD_URL = "https://bucket.s3.amazonaws.com/scans/{}.jpg"
WAIT = 60_000  # ms


def _browser_conftest() -> Any:
    """tests/browser/conftest.py as a module, for its start_dashboard (a module-wide set-up)."""
    spec = importlib.util.spec_from_file_location("browser_harness", Path(__file__).with_name("conftest.py"))
    assert spec and spec.loader
    module = sys.modules.setdefault(spec.name, importlib.util.module_from_spec(spec))
    spec.loader.exec_module(module)
    return module


def sandbox_control(url: str, body: dict[str, Any]) -> None:
    """Switch the shared sandbox's behaviour over HTTP, as an operator in another process would."""
    request = urllib.request.Request(url + "/_sandbox/behaviour", data=json.dumps(body).encode(),
                                     method="POST")
    with urllib.request.urlopen(request, timeout=30):  # noqa: S310 - loopback only
        pass


def accept_counts(url: str) -> dict[str, int]:
    """How many times the shared sandbox accepted each document ID."""
    with urllib.request.urlopen(url + "/_sandbox/received", timeout=30) as response:  # noqa: S310
        return dict(json.load(response)["accept_counts"])


@dataclass
class Farm:
    """Everything the deployment runs: its ledger URL, sandbox, worker, replicas and proxy."""

    database_url: str
    sandbox_url: str
    nginx: Nginx
    replicas: list[Any]
    cookies: list[str]  # an affinity cookie per replica, in the replicas' order
    folder: Path

    def ledger(self) -> Ledger:
        """A handle on the shared ledger, as the test's own process."""
        return Ledger(self.database_url)


def start_sandbox(folder: Path) -> tuple[subprocess.Popen, str]:
    """``python -m atlas_core sandbox`` on a free port: the one Atlas every process shares."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "atlas_core", "sandbox", "--port", "0", "--state",
         str(folder / "sandbox.jsonl"), "--processing-seconds", "0.3"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=(folder / "sandbox.log").open("w"), text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    if "listening on" not in line:
        proc.kill()
        raise RuntimeError(f"the sandbox did not start: {line!r}")
    return proc, line.rsplit(" ", 1)[1].strip()


def stop(proc: subprocess.Popen) -> None:
    """SIGTERM one process this module started, by its PID, and wait for it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def cookie_per_replica(nginx: Nginx, replicas: list[str]) -> list[str]:
    """An affinity cookie value that nginx hashes onto each replica (read back from its log)."""
    found: dict[str, str] = {}
    for n in range(200):
        value = f"analyst-{n}"
        requests.get(f"{nginx.url}/_stcore/health", cookies={"atlas_replica": value}, timeout=30)
        served = [upstream for cookie, upstream, _ in nginx.served() if cookie == value]
        if served and served[-1] in replicas:
            found.setdefault(served[-1], value)
        if len(found) == len(replicas):
            return [found[r] for r in replicas]
    raise AssertionError(f"nginx sent 200 cookies to {sorted(found)} only, not to every replica")


@pytest.fixture(scope="module")
def farm(pg_cluster, tmp_path_factory) -> Iterator[Farm]:
    """The whole deployment on this machine; every process stopped (by PID) afterwards."""
    if isinstance(pg_cluster, str):
        unavailable(pg_cluster)
    if not NGINX.exists():
        pytest.fail(f"nginx is missing at {NGINX}: scripts/test.sh installs Debian's nginx")
    folder = tmp_path_factory.mktemp("replicas")
    database_url = pg_cluster.fresh_database()
    Ledger(database_url)  # migrated once here, before four processes open it
    sandbox, sandbox_url = start_sandbox(folder)
    started: list[Any] = []
    try:
        shared = {"ATLAS_DATABASE_URL": database_url, "ATLAS_BASE_URL": sandbox_url,
                  "ATLAS_CLIENT_ID": SANDBOX_CLIENT_ID, "ATLAS_CLIENT_SECRET": SANDBOX_CLIENT_SECRET}
        env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
        with (folder / "worker.log").open("w") as log:
            worker = subprocess.Popen([sys.executable, "-m", "atlas_core", "-v", "worker"], cwd=ROOT,
                                      env={**env, **shared}, stdout=subprocess.DEVNULL, stderr=log)
        harness = _browser_conftest()
        replicas = []
        for name in ("replica-1", "replica-2"):
            replica = harness.start_dashboard(folder / name, {**shared, "ATLAS_EMBEDDED_WORKER": "0"})
            started.append(replica)
            replicas.append(replica)
        addresses = [r.url.removeprefix("http://") for r in replicas]
        nginx = Nginx(addresses)
        started.append(nginx)
        yield Farm(database_url, sandbox_url, nginx, replicas, cookie_per_replica(nginx, addresses),
                   folder)
    finally:
        for thing in reversed(started):
            thing.stop()
        if "worker" in locals():
            stop(worker)
        stop(sandbox)


def analyst(browser: Browser, farm: Farm, replica: int) -> Page:
    """A new browser (context) whose affinity cookie sticks it to one replica."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    context.add_cookies([{"name": "atlas_replica", "value": farm.cookies[replica],
                          "url": farm.nginx.url}])
    page = context.new_page()
    page.goto(farm.nginx.url)
    settle(page)
    return page


def replica_of(farm: Farm, page: Page) -> set[str]:
    """The replicas that answered this analyst's websocket (its Streamlit session) through nginx."""
    cookie = page.context.cookies(farm.nginx.url)
    value = next(c["value"] for c in cookie if c["name"] == "atlas_replica")
    return {upstream for c, upstream, request in farm.nginx.served()
            if c == value and "/_stcore/" in request}


def sheet_file(folder: Path, name: str, ids: list[str]) -> Path:
    """A CSV of IDs and good links."""
    path = folder / name
    path.write_text("document_id,file_url\n" + "".join(f"{i},{GOOD_URL.format(i)}\n" for i in ids))
    return path


def choose(page: Page, path: Path, to_send: int) -> None:
    """Upload the file, name the sender and open the confirmation."""
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(path))
    expect(page.get_by_text("2. Check")).to_be_visible(timeout=WAIT)
    settle(page)
    page.get_by_label("Your name").fill("Asha")
    page.get_by_label("Your name").press("Enter")
    settle(page)
    page.get_by_role("button", name="Review before sending").click()
    settle(page)
    expect(page.get_by_role("button", name=f"Send {to_send} documents")).to_be_visible()


def open_upload(page: Page, farm: Farm, name: str) -> None:
    """The Batches page with one upload opened from the list."""
    page.goto(f"{farm.nginx.url}/batches")
    settle(page)
    page.get_by_label("Open an upload").click()
    page.get_by_role("option", name=re.compile(rf"^Upload \d+ · {re.escape(name)}")).click()
    settle(page)


def wait_for(check: Any, seconds: float = 90) -> bool:
    """Poll ``check()`` until true or ``seconds`` pass."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.3)
    return bool(check())


def documents_of(ledger: Ledger, ids: list[str]) -> list[dict[str, Any]]:
    """The current ledger rows of these IDs."""
    wanted = set(ids)
    return [d for d in ledger.iter_documents() if d["document_id"] in wanted]


def test_an_upload_on_one_replica_is_seen_and_finished_on_the_other(farm, browser: Browser):
    one, two = analyst(browser, farm, 0), analyst(browser, farm, 1)
    ids = [f"SEEN-{n}" for n in range(1, 6)]
    choose(one, sheet_file(farm.folder, "seen-on-both.csv", ids), len(ids))
    one.get_by_role("button", name="Send 5 documents").click()
    settle(one)
    expect(one.get_by_text("Your last upload")).to_be_visible()

    open_upload(two, farm, "seen-on-both.csv")
    # The worker service sends and refreshes; replica 2's page follows it from the shared ledger.
    shown = two.locator("[data-testid=stMain] [data-testid=stMarkdownContainer]")
    expect(shown.get_by_text("Complete", exact=True).first).to_be_visible(timeout=WAIT)
    expect(shown.get_by_text("seen-on-both.csv").first).to_be_visible()  # the opened upload's title
    assert {d["state"] for d in documents_of(farm.ledger(), ids)} == {S.EXTRACTED}
    # Two analysts, two replicas: each session's requests went to its own replica only.
    first, second = replica_of(farm, one), replica_of(farm, two)
    assert len(first) == 1 and len(second) == 1 and first != second, (first, second)
    assert {a for _, a, r in farm.nginx.served() if "/_stcore/upload_file" in r} == first
    expect(two.get_by_test_id("stException")).to_have_count(0)


def test_the_same_ids_sent_on_both_replicas_at_once_are_queued_once(farm, browser: Browser):
    one, two = analyst(browser, farm, 0), analyst(browser, farm, 1)
    ids = [f"TWICE-{n}" for n in range(1, 9)]
    for page, name in ((one, "same-ids-a.csv"), (two, "same-ids-b.csv")):
        choose(page, sheet_file(farm.folder, name, ids), len(ids))
    # Both clicks go out before either run ends: two replicas queue at the same moment.
    one.get_by_role("button", name="Send 8 documents").click()
    two.get_by_role("button", name="Send 8 documents").click()
    settle(one)
    settle(two)
    ledger = farm.ledger()
    rows = documents_of(ledger, ids)
    assert sorted(d["document_id"] for d in rows) == sorted(ids)  # each ID once
    refused = [p for p in (one, two)
               if p.get_by_text(re.compile(r"were submitted since it was checked")).count()]
    assert len(refused) == 1  # the other analyst is told, in words, and nothing of theirs recorded
    for page in (one, two):
        expect(page.get_by_test_id("stException")).to_have_count(0)
    assert wait_for(lambda: all(accept_counts(farm.sandbox_url).get(i) for i in ids))
    assert all(accept_counts(farm.sandbox_url)[i] == 1 for i in ids)


def test_one_uncertain_request_resolved_on_both_replicas_at_once_is_resent_once(
    farm, browser: Browser
):
    ledger = farm.ledger()
    ids = [f"UNSURE-{n}" for n in range(1, 4)]
    name = "uncertain.csv"
    sandbox_control(farm.sandbox_url, {"rate_drop_after_accept": 1.0})  # accepted, answer lost
    try:
        sheet = read_spreadsheet(sheet_file(farm.folder, name, ids))
        plan = plan_upload(ledger, sheet, validate_sheet(sheet, known_ids=ledger.known_ids),
                           product_type="POC_CDL", chunk_size=10, submitted_by="Asha")
        upload_id = queue_upload(ledger, plan).upload_id
        ledger.send_signal(WORK)  # as the Upload page does: the worker service wakes now
        assert wait_for(lambda: ledger.upload(upload_id)["uncertain"] == 3)
    finally:
        sandbox_control(farm.sandbox_url, {"rate_drop_after_accept": 0.0})
    chunk_id = ledger.chunks_in_state(S.UNCERTAIN, upload_id=upload_id)[0]["id"]

    one, two = analyst(browser, farm, 0), analyst(browser, farm, 1)
    for page in (one, two):
        open_upload(page, farm, name)
        expect(page.get_by_role("button", name="Resend")).to_be_visible()
    one.get_by_role("button", name="Resend").click()
    two.get_by_role("button", name="Resend").click()
    settle(one)
    settle(two)

    resent = [p for p in (one, two) if p.get_by_text("will be sent again").count()]
    assert len(resent) == 1, [p.get_by_test_id("stAlert").all_inner_texts() for p in (one, two)]
    for page in (one, two):
        expect(page.get_by_test_id("stException")).to_have_count(0)
    # One new request, so Atlas sees the documents twice in all (the lost answer, and one resend).
    assert wait_for(lambda: all(accept_counts(farm.sandbox_url).get(i) == 2 for i in ids))
    assert wait_for(lambda: {d["state"] for d in documents_of(ledger, ids)} == {S.EXTRACTED})
    assert not ledger.chunks_in_state(S.UNCERTAIN, upload_id=upload_id)
    chunks = chunks_of_upload(ledger, upload_id)
    assert [c["resolution"] for c in chunks if c["id"] == chunk_id] == ["resent"]
    assert len(chunks) == 2  # the uncertain request and exactly one resend
