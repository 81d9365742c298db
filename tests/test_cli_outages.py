"""`submit` and `resume` as real processes on a bad day: Atlas unreachable, a token endpoint that
gives no token, requests orphaned by a dead process. Exit codes, the last line, and the ledger."""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ledger_support import chunks_of_upload

from atlas_core.cli import exitcodes
from atlas_core.config import DEFAULT_CONNECT_TIMEOUT, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from atlas_core.ledger import Ledger, RowRecord, UploadRecord
from atlas_core.ledger import states as S

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 120  # seconds any command here may run before the test gives up on it (and kills it)


def closed_port() -> int:
    """A loopback port nothing listens on: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_sheet(path: Path, count: int) -> Path:
    """A CSV of ``count`` valid rows."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["document_id", "file_url"])
        writer.writerows([f"D{i}", f"https://docs.test/ok/D{i}.jpg"] for i in range(count))
    return path


def cli_env(base_url: str, db_path: Path, **extra: str) -> dict[str, str]:
    """A CLI environment for ``base_url`` with the sandbox's credentials and default retries."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")}
    return {**env, "PYTHONPATH": str(ROOT), "ATLAS_BASE_URL": base_url,
            "ATLAS_CLIENT_ID": SANDBOX_CLIENT_ID, "ATLAS_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
            "ATLAS_DB_PATH": str(db_path), **extra}


def run(args: list[str], env: dict[str, str]) -> tuple[subprocess.CompletedProcess, float]:
    """Run ``python -m atlas_core ARGS``; return the result and the seconds it took."""
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "atlas_core", *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=LIMIT)
    finally:
        if proc.poll() is None:  # it never returned: stop it, and let the test fail
            proc.kill()
            proc.communicate()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err), time.monotonic() - started


def last_line(text: str) -> str:
    """The last non-empty line."""
    return [line for line in text.splitlines() if line.strip()][-1]


def chunk_states(db_path: Path) -> set[tuple[str, int]]:
    """(state, attempts) of every chunk in the ledger."""
    ledger = Ledger(db_path)
    try:
        return {(c["state"], c["attempts"]) for u in ledger.list_uploads()[0]
                for c in chunks_of_upload(ledger, u["id"])}
    finally:
        ledger.close()


def document_states(db_path: Path) -> dict[str, int]:
    """state -> how many documents."""
    ledger = Ledger(db_path)
    try:
        states: dict[str, int] = {}
        for doc in ledger.iter_documents():
            states[doc["state"]] = states.get(doc["state"], 0) + 1
        return states
    finally:
        ledger.close()


def test_max_wait_holds_against_an_unreachable_atlas_and_nothing_is_claimed(tmp_path):
    port = closed_port()
    db_path = tmp_path / "atlas.db"
    env = cli_env(f"http://127.0.0.1:{port}", db_path)  # default retries: 5, backoff up to 30 s
    sheet = write_sheet(tmp_path / "docs.csv", 2000)
    result, took = run(["submit", str(sheet), "--product-type", "POC_CDL", "--max-wait", "5"], env)
    # A bound, not a timing: --max-wait plus one request timeout, with a wide margin.
    assert took < 5 + DEFAULT_CONNECT_TIMEOUT + 10
    assert result.returncode == exitcodes.UNAVAILABLE, result.stderr
    line = last_line(result.stderr)
    assert line.startswith(f"error: Could not connect to Atlas at http://127.0.0.1:{port}: "
                           "the connection was refused.")
    assert "20 request(s) stay queued" in line and "resume" in line
    assert "Traceback" not in result.stderr
    assert chunk_states(db_path) == {(S.QUEUED, 0)}  # the token was tried before any claim
    assert document_states(db_path) == {S.QUEUED: 2000}

    result, took = run(["resume", "--max-wait", "3", "--json"], env)
    assert took < 3 + DEFAULT_CONNECT_TIMEOUT + 10
    assert result.returncode == exitcodes.UNAVAILABLE
    payload = json.loads(result.stdout)
    assert (payload["left_queued_chunks"], payload["submitted"], payload["rejected"]) == (20, 0, 0)
    assert "the connection was refused" in payload["error"]
    assert "the connection was refused" in last_line(result.stderr)
    assert chunk_states(db_path) == {(S.QUEUED, 0)}


@pytest.mark.parametrize(("switch", "cause"), [
    pytest.param({"token_status": 403}, "answered 403: This client may not use the Bulk API.",
                 id="403"),
    pytest.param({"token_status": 404}, "answered 404: No such endpoint", id="404"),
    pytest.param({"token_status": 302}, "answered 302, a redirect to https://elsewhere.invalid",
                 id="302"),
    pytest.param({"token_crlf": True}, "a token that cannot be sent in an HTTP header",
                 id="crlf-token"),
])
def test_a_token_endpoint_giving_no_token_leaves_the_work_queued_and_says_why(
    make_sandbox, tmp_path, switch, cause
):
    sandbox = make_sandbox(**switch)
    db_path = tmp_path / "atlas.db"
    env = cli_env(sandbox.url, db_path, ATLAS_CHUNK_SIZE="10")
    sheet = write_sheet(tmp_path / "docs.csv", 30)
    result, _ = run(["submit", str(sheet), "--product-type", "POC_CDL", "--json"], env)
    assert result.returncode == exitcodes.AUTH, result.stderr
    line = last_line(result.stderr)
    assert cause in line and "Nothing was sent" in line and "3 request(s) stay queued" in line
    assert "after the request was sent" not in result.stderr and "X-Injected" not in result.stderr
    payload = json.loads(result.stdout)
    assert (payload["submitted"], payload["rejected"], payload["uncertain"]) == (0, 0, 0)
    assert cause in payload["error"]
    assert document_states(db_path) == {S.QUEUED: 30}  # never rejected, never uncertain
    assert chunk_states(db_path) == {(S.QUEUED, 0)}
    assert sandbox.accept_counts() == {}

    sandbox.set_behaviour(token_status=None, token_crlf=False)  # the endpoint is fixed
    result, _ = run(["resume", "--json"], env)
    assert result.returncode == exitcodes.OK and json.loads(result.stdout)["submitted"] == 30
    assert len(sandbox.accept_counts()) == 30


def test_resume_reports_the_requests_it_found_orphaned_as_uncertain(sandbox, tmp_path):
    db_path = tmp_path / "atlas.db"
    ledger = Ledger(db_path)
    rows = [RowRecord(i + 2, f"D{i}", f"https://docs.test/ok/D{i}.jpg", True) for i in range(12)]
    ledger.record_upload(UploadRecord("a.csv", "POC_CDL"), rows, chunk_size=5)
    orphan = ledger.claim_chunk("a-process-that-died")  # claimed, never answered: in flight
    assert orphan is not None and len(orphan.documents) == 5
    ledger.close()
    result, _ = run(["resume", "--json"], cli_env(sandbox.url, db_path))
    payload = json.loads(result.stdout)
    assert (payload["uncertain"], payload["submitted"]) == (5, 7)
    assert result.returncode == exitcodes.INCOMPLETE  # a decision is waiting
    assert document_states(db_path) == {S.UNCERTAIN: 5, S.SUBMITTED: 7}
