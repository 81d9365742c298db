"""The job commands run through cli.main against the sandbox: --json output and exit codes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from atlas_core.cli import exitcodes, main
from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from atlas_core.ledger import Ledger
from atlas_core.ledger import states as S


@pytest.fixture
def env(sandbox, tmp_path, monkeypatch) -> Path:
    """Environment pointing the CLI at the sandbox fixture; returns the ledger path."""
    db_path = tmp_path / "atlas.db"
    for key, value in {"ATLAS_BASE_URL": sandbox.url, "ATLAS_CLIENT_ID": SANDBOX_CLIENT_ID,
                       "ATLAS_CLIENT_SECRET": SANDBOX_CLIENT_SECRET, "ATLAS_DB_PATH": str(db_path),
                       "ATLAS_MAX_RETRIES": "0", "ATLAS_BACKOFF_BASE": "0.01",
                       "ATLAS_BACKOFF_CAP": "0.05"}.items():
        monkeypatch.setenv(key, value)
    return db_path


def sheet(tmp_path: Path, ids: list[str], name: str = "docs.csv", bad_rows: int = 0) -> Path:
    """A CSV with ``ids`` (ids starting with F get an unreadable URL) and some rows without a URL."""
    path = tmp_path / name
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["document_id", "file_url"])
        for d in ids:
            writer.writerow([d, f"https://docs.test/{'unreadable' if d.startswith('F') else 'ok'}/{d}.jpg"])
        writer.writerows([f"BAD{i}", ""] for i in range(bad_rows))
    return path


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run one command; return (exit code, stdout, stderr)."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def submit(capsys, path: Path, *extra: str) -> tuple[int, dict, str]:
    """`submit PATH --json` with extra flags; returns (code, parsed JSON, stderr)."""
    code, out, err = cli(capsys, "submit", str(path), "--product-type", "POC_CDL", "--json", *extra)
    return code, json.loads(out), err


def test_submit_prints_what_happened_as_json(env, tmp_path, capsys, sandbox):
    code, result, _ = submit(capsys, sheet(tmp_path, [f"D{i}" for i in range(25)], bad_rows=2),
                             "--chunk-size", "10", "--submitted-by", "asha")
    assert code == exitcodes.OK
    assert {k: result[k] for k in ("upload_id", "submitted", "skipped", "invalid", "uncertain", "rejected")} == {
        "upload_id": 1, "submitted": 25, "skipped": 0, "invalid": 2, "uncertain": 0, "rejected": 0}
    assert len(result["batches"]) == 3 and len(sandbox.received_uploads()) == 3
    assert Ledger(env).list_uploads()[0][0]["submitted_by"] == "asha"


def test_submitting_again_skips_known_ids_and_warns_about_the_same_file(env, tmp_path, capsys, sandbox):
    path = sheet(tmp_path, ["A", "B"])
    submit(capsys, path)
    code, result, err = submit(capsys, path)
    assert (code, result["submitted"], result["skipped"]) == (exitcodes.OK, 0, 2)
    assert "same file was uploaded before" in err and "--force" in err
    code, forced, _ = submit(capsys, path, "--force")
    assert forced["submitted"] == 2 and sandbox.accept_counts() == {"A": 2, "B": 2}


def test_a_pilot_then_the_held_rows(env, tmp_path, capsys, sandbox):
    _, result, _ = submit(capsys, sheet(tmp_path, [f"D{i}" for i in range(6)]), "--pilot", "2")
    assert (result["submitted"], result["held"]) == (2, 4)
    code, out, _ = cli(capsys, "send-held", "--upload", str(result["upload_id"]))
    assert code == exitcodes.OK and "4 held document(s)" in out
    assert len(sandbox.accept_counts()) == 6


def test_refresh_wait_then_status_and_export(env, tmp_path, capsys, sandbox):
    submit(capsys, sheet(tmp_path, ["A1", "A2", "F1"]))
    sandbox.advance(60)
    code, out, _ = cli(capsys, "refresh", "--wait", "--timeout", "30")
    assert code == exitcodes.OK and "0 still processing" in out
    code, out, _ = cli(capsys, "status", "--json")
    (batch,) = json.loads(out)["batches"]
    assert {k: batch[k] for k in ("upload_id", "product_type", "documents", "extracted", "failed", "pending",
                                  "state")} == {"upload_id": 1, "product_type": "POC_CDL", "documents": 3,
                                                "extracted": 2, "failed": 1, "pending": 0,
                                                "state": S.COMPLETE_WITH_FAILURES}
    target = tmp_path / "out.json"
    code, out, _ = cli(capsys, "export", "--output", str(target), "--batch", batch["batch_id"])
    assert code == exitcodes.OK and "3 row(s)" in out
    assert sorted(d["document_id"] for d in json.loads(target.read_text())) == ["A1", "A2", "F1"]
    code, _, _ = cli(capsys, "export", "--output", str(tmp_path / "long.csv"), "--layout", "long")
    assert code == exitcodes.OK and (tmp_path / "long.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_retry_failed_sends_a_second_attempt(env, tmp_path, capsys, sandbox):
    submit(capsys, sheet(tmp_path, ["A1", "F1", "F2"]))
    sandbox.advance(60)
    cli(capsys, "refresh")
    code, out, _ = cli(capsys, "retry-failed", "--upload", "1", "--all")
    assert code == exitcodes.OK and out.startswith("2 failed document(s)")
    assert sandbox.accept_counts() == {"A1": 1, "F1": 2, "F2": 2}


def test_retry_failed_sends_only_what_a_retry_may_help(env, tmp_path, capsys, sandbox):
    path = sheet(tmp_path, ["A1", "F1"])  # F1: an unreadable image, to be fixed, not retried
    with path.open("a", newline="") as handle:
        csv.writer(handle).writerow(["T1", "https://docs.test/timeout/T1.jpg"])  # Atlas timed out
    submit(capsys, path)
    sandbox.advance(60)
    cli(capsys, "refresh")
    code, out, _ = cli(capsys, "retry-failed", "--upload", "1")
    assert code == exitcodes.OK and out.startswith("1 failed document(s) of upload 1 queued again")
    assert "1 left as they are: their file or link needs fixing" in out
    assert sandbox.accept_counts() == {"A1": 1, "F1": 1, "T1": 2}


def test_an_uncertain_send_exits_incomplete_until_the_user_decides(env, tmp_path, capsys, sandbox):
    sandbox.inject("drop_after_accept", path="/v1/bulk/multiupload")
    code, result, _ = submit(capsys, sheet(tmp_path, ["U1", "U2"]))
    assert (code, result["uncertain"]) == (exitcodes.INCOMPLETE, 2)
    _, out, _ = cli(capsys, "status", "--json")
    (chunk,) = json.loads(out)["uncertain_chunks"]
    sandbox.advance(60)
    assert cli(capsys, "refresh", "--wait", "--timeout", "5")[0] == exitcodes.INCOMPLETE
    code, out, _ = cli(capsys, "resolve-uncertain", "--chunk", str(chunk["chunk"]), "--action", "resend",
                       "--by", "asha")
    assert code == exitcodes.OK and "sent again" in out
    assert sandbox.accept_counts() == {"U1": 2, "U2": 2}


def test_an_unavailable_atlas_leaves_work_queued_for_resume(env, tmp_path, capsys, sandbox):
    sandbox.inject(*["503"] * 4, path="/v1/bulk/multiupload")
    code, result, err = submit(capsys, sheet(tmp_path, ["A", "B"]), "--max-wait", "0")
    assert (code, result["left_queued_chunks"]) == (exitcodes.UNAVAILABLE, 1)
    assert "resume" in err
    code, out, _ = cli(capsys, "resume", "--json")
    assert code == exitcodes.OK and json.loads(out)["submitted"] == 2


def test_cancel_and_resolve_drop(env, tmp_path, capsys, sandbox):
    sandbox.inject("drop_after_accept", path="/v1/bulk/multiupload")
    submit(capsys, sheet(tmp_path, ["U1"]))
    code, out, _ = cli(capsys, "resolve-uncertain", "--chunk", "1", "--action", "drop")
    assert code == exitcodes.OK and "dropped" in out
    assert cli(capsys, "cancel", "--upload", "1")[1].startswith("0 queued")
    assert {d["state"] for d in Ledger(env).iter_documents()} == {S.CANCELLED}


@pytest.mark.parametrize(("args", "expected"), [
    (["submit", "{sheet}", "--product-type", "NOT_CONFIGURED"], exitcodes.CONFIG),
    (["submit", "{missing}", "--product-type", "POC_CDL"], exitcodes.UNREADABLE),
    (["resolve-uncertain", "--chunk", "99", "--action", "drop"], exitcodes.UNREADABLE),
])
def test_errors_end_with_a_plain_line_and_an_exit_code(env, tmp_path, capsys, args, expected):
    path = sheet(tmp_path, ["A"])
    args = [a.format(sheet=path, missing=tmp_path / "nope.csv") for a in args]
    code, _, err = cli(capsys, *args)
    assert code == expected and err.startswith("error: ") and "Traceback" not in err
