"""The CLI after a sandbox trial in the same ledger, pointed at "real Atlas" (a second sandbox server)."""

from __future__ import annotations

import json

import pytest

from atlas_core.cli import exitcodes, main
from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Settings
from atlas_core.engine import (
    open_runtime,
    plan_upload,
    queue_upload,
    refresh_batches,
    send_until_answered,
)
from atlas_core.intake import read_spreadsheet, validate_sheet
from atlas_core.ledger import Ledger
from atlas_core.ledger import states as S

TRIAL_IDS = [f"T{i}" for i in range(4)]


def write_sheet(path, ids):
    """A CSV of ids with readable file URLs."""
    path.write_text("document_id,file_url\n" + "".join(
        f"{d},https://docs.test/ok/{d}.jpg\n" for d in ids), encoding="utf-8")
    return path


@pytest.fixture
def after_trial(tmp_path) -> dict:
    """A sandbox trial through the engine: one upload finished, one whose chunk is still queued."""
    settings = Settings(db_path=str(tmp_path / "atlas.db"),
                        sandbox_state_path=str(tmp_path / "sandbox.jsonl"))
    with open_runtime(settings, sandbox_behaviour={"processing_seconds": 0.0}) as trial:
        for name, ids in (("trial.csv", TRIAL_IDS), ("later.csv", ["Q1"])):
            sheet = read_spreadsheet(write_sheet(tmp_path / name, ids))
            queued = queue_upload(trial.ledger, plan_upload(
                trial.ledger, sheet, validate_sheet(sheet), product_type="POC_CDL", chunk_size=10))
            if name == "trial.csv":
                batches = send_until_answered(trial.ledger, trial.client, worker_id="t",
                                              upload_id=queued.upload_id).batches
        refresh_batches(trial.ledger, trial.client, force=True)
    return {"batches": batches, "db_path": tmp_path / "atlas.db"}


@pytest.fixture
def real(make_sandbox, tmp_path, monkeypatch, after_trial):
    """The CLI's environment pointed at a second sandbox (its own journal) as real Atlas."""
    server = make_sandbox(state_path=tmp_path / "real-atlas.jsonl", processing_seconds=0.0)
    for key, value in {"ATLAS_BASE_URL": server.url, "ATLAS_CLIENT_ID": SANDBOX_CLIENT_ID,
                       "ATLAS_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
                       "ATLAS_DB_PATH": str(after_trial["db_path"]),
                       "ATLAS_SANDBOX_STATE_PATH": str(tmp_path / "sandbox.jsonl"),
                       "ATLAS_MAX_RETRIES": "0"}.items():
        monkeypatch.setenv(key, value)
    return server


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run one command; return (exit code, stdout, stderr)."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_submit_resume_status_and_export_keep_to_real_atlas(after_trial, real, tmp_path, capsys):
    code, out, err = cli(capsys, "resume", "--json")
    assert code == exitcodes.OK, err
    assert real.received_uploads() == []  # the trial's queued chunk stays with the sandbox
    code, out, err = cli(capsys, "submit", str(tmp_path / "trial.csv"), "--product-type", "POC_CDL",
                         "--json")
    assert code == exitcodes.OK, err
    result = json.loads(out)
    assert result["submitted"] == len(TRIAL_IDS) and result["skipped"] == 0
    assert [i["document_id"] for u in real.received_uploads() for i in u["items"]] == TRIAL_IDS

    code, out, _ = cli(capsys, "status", "--json")
    status = json.loads(out)
    assert status["target"] == real.url
    assert status["other_targets"] == [{"target": "sandbox", "uploads": 2}]
    assert status["queued_chunks"] == 0 and status["uncertain_chunks"] == []
    assert {b["batch_id"] for b in status["batches"]} == set(result["batches"])
    code, out, _ = cli(capsys, "status")
    assert out.rstrip().endswith(
        f"Showing work sent to {real.url}. Hidden here: 2 upload(s) sent to the built-in sandbox.")
    assert not any(b in out for b in after_trial["batches"])

    code, out, _ = cli(capsys, "export", "--output", str(tmp_path / "real.csv"))
    assert code == exitcodes.OK and out.startswith(f"Wrote {len(TRIAL_IDS)} row(s)")
    # The trial's (extracted) documents carry the same IDs; only the real, unfinished ones are here.
    assert Ledger(after_trial["db_path"]).list_uploads()[1] == 3
    states = [line.split(",") for line in (tmp_path / "real.csv").read_text("utf-8-sig").splitlines()]
    assert S.EXTRACTED not in {cell for row in states[1:] for cell in row}


def test_validate_warns_only_about_ids_sent_to_this_atlas(after_trial, real, tmp_path, capsys,
                                                          monkeypatch):
    def id_warnings() -> list[str]:
        code, out, err = cli(capsys, "validate", str(tmp_path / "trial.csv"), "--json")
        assert code == exitcodes.OK, err
        return [i["value"] for i in json.loads(out)["issues"] if i["code"] == "ID_IN_LEDGER"]

    assert id_warnings() == []  # real Atlas never saw them
    monkeypatch.delenv("ATLAS_BASE_URL")  # back to the sandbox, which did
    assert id_warnings() == TRIAL_IDS


def test_refresh_of_a_sandbox_batch_on_real_atlas_says_why_and_asks_nothing(after_trial, real,
                                                                           capsys):
    from atlas_core.sandbox.api import EXTRACTS_PATHS

    code, out, err = cli(capsys, "refresh", "--batch", after_trial["batches"][0])
    assert code == exitcodes.CONFIG
    assert "was sent to the built-in sandbox, not to " + real.url in err
    assert [r for r in real.request_log() if r["path"] in EXTRACTS_PATHS] == []
