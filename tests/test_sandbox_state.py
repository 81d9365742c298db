"""The sandbox's journal, records, HTTP controls, concurrency and command line."""

from __future__ import annotations

import argparse
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
from sandbox_http import TIMEOUT, all_items, extracts, items, submit, token

from atlas_core.cli import sandbox as sandbox_cli
from atlas_core.errors import ConfigError

# Persistence


def test_batches_survive_a_restart(make_sandbox, tmp_path):
    first = make_sandbox(state_path=tmp_path / "j.jsonl")
    tok, batch_id = submit(first, 3)
    first.advance(10)
    before = all_items(first, tok, batch_id)
    first.stop()
    second = make_sandbox(state_path=tmp_path / "j.jsonl")
    second.advance(10)
    assert all_items(second, token(second), batch_id) == before
    assert second.received_uploads() == first.received_uploads()


def test_two_servers_sharing_a_journal_see_each_others_uploads(make_sandbox, tmp_path):
    a, b = (make_sandbox(state_path=tmp_path / "shared.jsonl") for _ in range(2))
    _, batch_id = submit(a, 2)
    b.advance(10)
    assert [d["document_id"] for d in all_items(b, token(b), batch_id)] == ["doc-0", "doc-1"]
    assert b.accept_counts() == {"doc-0": 1, "doc-1": 1}


OTHER_PROCESS = """
import sys
from atlas_core.sandbox import Behaviour, SandboxServer
server = SandboxServer(state_path=sys.argv[1], behaviour=Behaviour(processing_seconds=0)).start()
print(server.url, flush=True)
sys.stdin.read()  # serve until the test closes our stdin
server.stop()
"""


def test_a_sandbox_in_another_process_shares_the_journal(make_sandbox, tmp_path):
    journal = tmp_path / "shared.jsonl"
    here = make_sandbox(state_path=journal, processing_seconds=0)
    root = Path(__file__).resolve().parent.parent
    other = subprocess.Popen(
        [sys.executable, "-c", OTHER_PROCESS, str(journal)],
        cwd=root,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        there = type("Remote", (), {"url": other.stdout.readline().strip()})()
        _, sent_here = submit(here, 2, prefix="here")
        _, sent_there = submit(there, 3, prefix="there")
        assert len(all_items(there, token(there), sent_here)) == 2
        assert len(all_items(here, token(here), sent_there)) == 3
        received = requests.get(f"{there.url}/_sandbox/received", timeout=TIMEOUT).json()
        assert [u["batch_id"] for u in received["uploads"]] == [sent_here, sent_there]
    finally:
        other.stdin.close()
        other.wait(timeout=TIMEOUT)


def test_a_torn_last_line_is_tolerated(make_sandbox, tmp_path):
    journal = tmp_path / "torn.jsonl"
    first = make_sandbox(state_path=journal)
    _, kept = submit(first, 1)
    first.stop()
    with journal.open("a") as handle:
        handle.write('{"batch_id": "BATCH-TORN", "items": [')
    second = make_sandbox(state_path=journal)
    assert [u["batch_id"] for u in second.received_uploads()] == [kept]
    _, added = submit(second, 1, prefix="after")
    third = make_sandbox(state_path=journal)
    assert [u["batch_id"] for u in third.received_uploads()] == [kept, added]


def test_memory_only_sandbox_writes_no_file(make_sandbox, tmp_path):
    server = make_sandbox(state_path=None)
    submit(server, 1)
    assert list(tmp_path.iterdir()) == []


# Records, controls, concurrency


def test_request_log_never_holds_a_token(sandbox):
    tok, batch_id = submit(sandbox, 1)
    extracts(sandbox, tok, batch_id=batch_id)
    log = sandbox.request_log()
    assert [(r["method"], r["path"], r["status"]) for r in log] == [
        ("POST", "/v1/bulk/authtoken", 201),
        ("POST", "/v1/bulk/multiupload", 201),
        ("GET", "/v1/bulk/extracts", 200),
    ]
    assert tok not in repr(log)


def test_http_controls(sandbox):
    base = f"{sandbox.url}/_sandbox"
    assert (
        requests.get(f"{base}/state", timeout=TIMEOUT).json()["behaviour"]["pending_style"]
        == "absent"
    )
    changed = requests.post(f"{base}/behaviour", json={"pending_style": "empty"}, timeout=TIMEOUT)
    assert changed.json()["pending_style"] == "empty" and sandbox.behaviour.pending_style == "empty"
    assert (
        requests.post(f"{base}/behaviour", json={"pending_style": "x"}, timeout=TIMEOUT).status_code
        == 400
    )
    tok, batch_id = submit(sandbox, 1)
    assert requests.post(
        f"{base}/inject", json={"faults": ["503"], "path": "extracts"}, timeout=TIMEOUT
    ).ok
    assert extracts(sandbox, tok, batch_id=batch_id).status_code == 503
    assert (
        requests.get(f"{base}/truth", params={"batch_id": batch_id}, timeout=TIMEOUT).json()[
            "results"
        ]
        == []
    )
    assert requests.post(f"{base}/advance", json={"seconds": 10}, timeout=TIMEOUT).ok
    truth = requests.get(f"{base}/truth", params={"batch_id": batch_id}, timeout=TIMEOUT).json()[
        "results"
    ]
    assert [r["document_id"] for r in truth] == ["doc-0"]
    assert (
        requests.get(f"{base}/truth", params={"batch_id": "nope"}, timeout=TIMEOUT).status_code
        == 404
    )
    assert requests.post(f"{base}/expire-tokens", timeout=TIMEOUT).ok
    assert extracts(sandbox, tok, batch_id=batch_id).status_code == 401
    received = requests.get(f"{base}/received", timeout=TIMEOUT).json()
    assert (
        received["accept_counts"] == {"doc-0": 1} and received["uploads"][0]["batch_id"] == batch_id
    )
    log = requests.get(f"{base}/requests", timeout=TIMEOUT).json()["requests"]
    assert [r["status"] for r in log if r["path"] == "/v1/bulk/extracts"] == [503, 401]
    assert not [r for r in log if r["path"].startswith("/_sandbox")]


def test_concurrent_uploads_and_pages_are_all_answered(sandbox):
    tok = token(sandbox)
    receipts: list[dict] = []
    lock = threading.Lock()

    def send(worker: int) -> None:
        with requests.Session() as session:
            for n in range(10):
                reply = session.post(
                    f"{sandbox.url}/v1/bulk/multiupload",
                    headers={"Token": tok},
                    timeout=TIMEOUT,
                    json={"product_type": "POC_CDL", "file_urls": items(3, f"w{worker}-{n}")},
                )
                with lock:
                    receipts.extend(reply.json())

    threads = [threading.Thread(target=send, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(receipts) == 240 and len({r["batch_id"] for r in receipts}) == 80
    assert set(sandbox.accept_counts().values()) == {1} and len(sandbox.accept_counts()) == 240
    sandbox.advance(10)
    batch_id = receipts[0]["batch_id"]
    pages = [None] * 20
    fetchers = [
        threading.Thread(
            target=lambda i=i: pages.__setitem__(
                i,
                extracts(sandbox, tok, batch_id=batch_id, per_page=1, page=i % 3 + 1).json()[
                    "data"
                ],
            )
        )
        for i in range(20)
    ]
    for thread in fetchers:
        thread.start()
    for thread in fetchers:
        thread.join()
    assert all(len(page) == 1 for page in pages)


@pytest.mark.parametrize(
    "flags",
    [
        ["--behaviour", "{not json"],
        ["--behaviour", "[1]"],
        ["--behaviour", '{"colour": "red"}'],
        ["--processing-seconds", "-1"],
    ],
)
def test_cli_refuses_bad_behaviour_with_a_plain_message(flags):
    parser = argparse.ArgumentParser()
    sandbox_cli.register(parser.add_subparsers())
    args = parser.parse_args(["sandbox", *flags])
    with pytest.raises(ConfigError) as caught:
        sandbox_cli.behaviour_from_args(args)
    assert "--behaviour" in caught.value.message or "processing_seconds" in caught.value.message


def start_cli_sandbox(tmp_path: Path, **popen: Any) -> subprocess.Popen:
    """``python -m atlas_core sandbox`` on a free port, as a separate process."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "atlas_core",
            "sandbox",
            "--port",
            "0",
            "--state",
            str(tmp_path / "cli.jsonl"),
            "--processing-seconds",
            "0",
            "--behaviour",
            '{"pending_style": "empty"}',
        ],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **popen,
    )


def stop_for_sure(proc: subprocess.Popen) -> None:
    """Kill the process if it is still running (whatever the test did), and reap it."""
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=TIMEOUT)


def serving_url(proc: subprocess.Popen) -> str:
    """The URL the sandbox printed, after checking it answers with the flags' behaviour."""
    url = re.search(r"http://127\.0\.0\.1:\d+", proc.stdout.readline()).group(0)
    state = requests.get(f"{url}/_sandbox/state", timeout=TIMEOUT).json()
    assert state["behaviour"]["pending_style"] == "empty"
    assert state["state_path"].endswith("cli.jsonl")
    return url


def test_cli_runs_in_the_foreground_until_sigterm(tmp_path):
    # SIGTERM, not SIGINT: a shell's background job ignores SIGINT, and so would the child.
    proc = start_cli_sandbox(tmp_path)
    try:
        url = serving_url(proc)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        stop_for_sure(proc)
    assert proc.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/_sandbox/state", timeout=TIMEOUT)


def test_cli_stops_on_ctrl_c_as_on_sigterm(tmp_path):
    # The child gets SIGINT's default back, so Ctrl-C is tested even when this suite runs as a
    # background job (where SIGINT is ignored and the child would inherit that).
    proc = start_cli_sandbox(
        tmp_path, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    )
    try:
        serving_url(proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        stop_for_sure(proc)
    assert proc.returncode == 0, err
    assert "stopped" in out and "Traceback" not in err
