"""Crashes and concurrency with real processes: SIGKILL mid-submit, then two processes at once.

Checked against what the sandbox really accepted (accept_counts): every document is either
recorded as submitted and accepted exactly once, or marked uncertain (accepted at most once).
"""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from ledger_support import chunks_of_upload

from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from atlas_core.ledger import Ledger, RowRecord, UploadRecord
from atlas_core.ledger import states as S

ROOT = Path(__file__).resolve().parents[1]


def write_sheet(path: Path, ids: list[str]) -> Path:
    """A CSV of document IDs and file URLs."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["document_id", "file_url"])
        writer.writerows([d, f"https://docs.test/ok/{d}.jpg"] for d in ids)
    return path


def cli_env(sandbox, db_path: Path) -> dict[str, str]:
    """The environment of a CLI process pointed at the sandbox and the ledger."""
    return {**os.environ, "PYTHONPATH": str(ROOT), "ATLAS_BASE_URL": sandbox.url,
            "ATLAS_CLIENT_ID": SANDBOX_CLIENT_ID, "ATLAS_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
            "ATLAS_DB_PATH": str(db_path), "ATLAS_CHUNK_SIZE": "2", "ATLAS_MAX_RETRIES": "2",
            "ATLAS_BACKOFF_BASE": "0.01"}


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """Start ``python -m atlas_core ARGS``."""
    return subprocess.Popen([sys.executable, "-m", "atlas_core", *args], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run ``python -m atlas_core ARGS`` to the end."""
    proc = start(args, env)
    out, err = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def sent_chunks(db_path: Path) -> int:
    """How many chunks the ledger records as sent (0 before it exists)."""
    if not db_path.exists():
        return 0
    ledger = Ledger(db_path)
    return sum(1 for u in ledger.list_uploads()[0] for c in chunks_of_upload(ledger, u["id"])
               if c["state"] == S.SENT)


def check_exactly_once_or_uncertain(ledger: Ledger, sandbox, ids: list[str]) -> dict[str, int]:
    """Every id has one current row, submitted (accepted once) or uncertain (accepted at most once)."""
    accepted = sandbox.accept_counts()
    current = {}
    for doc in ledger.iter_documents():
        assert doc["document_id"] not in current, f"{doc['document_id']} recorded twice"
        current[doc["document_id"]] = doc["state"]
    assert sorted(current) == sorted(ids)
    tally = {S.SUBMITTED: 0, S.UNCERTAIN: 0}
    for doc_id, state in current.items():
        assert state in tally, f"{doc_id} left {state}"
        tally[state] += 1
        if state == S.SUBMITTED:
            assert accepted.get(doc_id) == 1, f"{doc_id} accepted {accepted.get(doc_id)} times"
        else:
            assert accepted.get(doc_id, 0) <= 1
    assert max(accepted.values()) == 1
    return tally


@pytest.mark.slow
@pytest.mark.parametrize("kill_round", range(3))
def test_a_submit_killed_at_a_random_point_resumes_without_double_sending(make_sandbox, tmp_path, kill_round):
    sandbox = make_sandbox(latency=0.05)
    db_path = tmp_path / "atlas.db"
    env = cli_env(sandbox, db_path)
    ids = [f"K{i}" for i in range(120)]
    sheet = write_sheet(tmp_path / "docs.csv", ids)
    extra = random.Random().uniform(0, 0.2)
    proc = start(["submit", str(sheet), "--product-type", "POC_CDL"], env)
    deadline = time.monotonic() + 60
    while sent_chunks(db_path) < 1 + kill_round * 4 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(extra)
    assert proc.poll() is None, "the submit finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    # The restart: the same command again (it skips what is already queued), then resume.
    again = run(["submit", str(sheet), "--product-type", "POC_CDL", "--json"], env)
    assert again.returncode in (0, 6), again.stderr
    resumed = run(["resume", "--json"], env)
    assert resumed.returncode in (0, 6), resumed.stderr
    tally = check_exactly_once_or_uncertain(Ledger(db_path), sandbox, ids)
    assert tally[S.SUBMITTED] >= len(ids) - 4 * 2  # at most the in-flight chunks (4 lanes x 2) are uncertain
    print(f"killed after {extra:.2f}s more: {tally}")


@pytest.mark.slow
def test_two_processes_sending_one_ledger_never_take_the_same_chunk(make_sandbox, tmp_path):
    sandbox = make_sandbox(latency=0.01)
    db_path = tmp_path / "atlas.db"
    ledger = Ledger(db_path)
    ids = [f"P{i}" for i in range(200)]
    ledger.record_upload(UploadRecord("a.csv", "POC_CDL"),
                         [RowRecord(i + 2, d, f"https://docs.test/ok/{d}.jpg", True) for i, d in enumerate(ids)],
                         chunk_size=2)
    env = cli_env(sandbox, db_path)
    procs = [start(["resume", "--json"], env) for _ in range(2)]
    results = [p.communicate(timeout=120) for p in procs]
    for proc, (_, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err
        assert "locked" not in err
    tally = check_exactly_once_or_uncertain(ledger, sandbox, ids)
    assert tally == {S.SUBMITTED: 200, S.UNCERTAIN: 0}
    per_process = [len(json.loads(out)["batches"]) for out, _ in results]
    assert sum(per_process) == 100


@pytest.mark.slow
def test_submitting_and_refreshing_in_two_processes_at_once(make_sandbox, tmp_path):
    sandbox = make_sandbox(latency=0.01, processing_seconds=0.05)
    db_path = tmp_path / "atlas.db"
    env = cli_env(sandbox, db_path)
    first = write_sheet(tmp_path / "a.csv", [f"A{i}" for i in range(80)])
    second = write_sheet(tmp_path / "b.csv", [f"B{i}" for i in range(80)])
    procs = [start(["submit", str(first), "--product-type", "POC_CDL"], env),
             start(["submit", str(second), "--product-type", "POC_CDL"], env)]
    refreshers = []
    while any(p.poll() is None for p in procs):
        refreshers.append(run(["refresh"], env))
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0 and "locked" not in err, err
    assert all(r.returncode == 0 and "locked" not in r.stderr for r in refreshers)
    final = run(["refresh", "--wait", "--timeout", "60"], env)
    assert final.returncode == 0, final.stderr
    docs = list(Ledger(db_path).iter_documents())
    assert len(docs) == 160 and {d["state"] for d in docs} == {S.EXTRACTED}
    assert set(sandbox.accept_counts().values()) == {1}
