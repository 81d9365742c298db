"""A sandbox trial and real Atlas sharing one ledger file: neither's work leaks into the other's.

"Real Atlas" is a second sandbox server on another loopback port with its own journal, reached
through ATLAS_BASE_URL and its credentials, exactly as a real deployment is configured. Its
request log shows what the product asked of it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ledger_support import chunks_of_upload
from pg_support import settings_on

from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Settings
from atlas_core.engine import (
    Worker,
    cancel_upload,
    open_runtime,
    plan_upload,
    queue_upload,
    refresh_batches,
    resolve_uncertain,
    retry_failed,
    send_until_answered,
    submit_held,
)
from atlas_core.engine.runtime import Runtime, target_for
from atlas_core.errors import LedgerError
from atlas_core.intake import read_spreadsheet, validate_sheet
from atlas_core.ledger import Ledger
from atlas_core.ledger import states as S
from atlas_core.ledger.targets import SANDBOX_TARGET, UNKNOWN_TARGET, normalise_base_url
from atlas_core.sandbox.api import EXTRACTS_PATHS, MULTIUPLOAD_PATHS

TRIAL_IDS = [f"T{i}" for i in range(6)]
FAST = {"processing_seconds": 0.0}


def write_sheet(path: Path, ids: list[str], *, unreadable: tuple[str, ...] = ()) -> Path:
    """A CSV of ids with file URLs (ids in ``unreadable`` get a URL the sandbox fails)."""
    path.write_text("document_id,file_url\n" + "".join(
        f"{d},https://docs.test/{'unreadable' if d in unreadable else 'ok'}/{d}.jpg\n" for d in ids
    ), encoding="utf-8")
    return path


def plan(runtime: Runtime, path: Path, **options):
    """plan_upload for a sheet on disk, through intake as the CLI and pages do it."""
    sheet = read_spreadsheet(path)
    report = validate_sheet(sheet, known_ids=runtime.ledger.known_ids)
    return plan_upload(runtime.ledger, sheet, report, product_type="POC_CDL", chunk_size=3, **options)


def send(runtime: Runtime, upload_id: int | None = None):
    """Send what this runtime may send (all of it, or one upload's), as `submit`/`resume` do."""
    return send_until_answered(runtime.ledger, runtime.client, worker_id="test",
                               upload_id=upload_id, max_wait=10)


def api_calls(server, paths: tuple[str, ...]) -> list[dict]:
    """The requests a sandbox server saw on some API paths."""
    return [r for r in server.request_log() if r["path"] in paths]


@pytest.fixture
def trial_settings(tmp_path, ledger_location) -> Settings:
    """Settings with no ATLAS_BASE_URL: the built-in sandbox, its journal under tmp_path, the
    ledger on each engine in turn (a file under tmp_path, or a PostgreSQL database)."""
    return settings_on(Settings(sandbox_state_path=str(tmp_path / "sandbox.jsonl")), ledger_location)


@pytest.fixture
def real(make_sandbox, tmp_path):
    """A second sandbox standing in for real Atlas, with its own journal (it knows no trial batch)."""
    return make_sandbox(state_path=tmp_path / "real-atlas.jsonl", processing_seconds=0.0)


@pytest.fixture
def real_settings(trial_settings, real) -> Settings:
    """The same ledger file, now pointed at "real Atlas" with its credentials."""
    return trial_settings.with_base_url(real.url, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET)


@pytest.fixture
def after_trial(trial_settings, tmp_path) -> dict:
    """A sandbox trial through the real engine: one upload sent (batches unfinished), one queued."""
    with open_runtime(trial_settings, sandbox_behaviour=FAST) as trial:
        assert trial.target == SANDBOX_TARGET
        sent = queue_upload(trial.ledger, plan(trial, write_sheet(tmp_path / "trial.csv", TRIAL_IDS)))
        summary = send(trial, sent.upload_id)
        assert summary.documents_sent == len(TRIAL_IDS)
        waiting = queue_upload(trial.ledger, plan(trial, write_sheet(tmp_path / "later.csv", ["Q1", "Q2"])))
    return {"sent": sent.upload_id, "waiting": waiting.upload_id, "batches": summary.batches}


def test_ids_tried_in_the_sandbox_are_not_duplicates_on_real_atlas(after_trial, real_settings, real,
                                                                  tmp_path):
    with open_runtime(real_settings) as runtime:
        assert runtime.target == normalise_base_url(real.url)
        assert list(runtime.ledger.known_ids(TRIAL_IDS)) == []
        planned = plan(runtime, write_sheet(tmp_path / "trial.csv", TRIAL_IDS))
        assert planned.duplicate_ids == () and planned.to_send == len(TRIAL_IDS)
        assert planned.same_file_uploads == ()  # the trial's copy of the file is not "this file again"
        queued = queue_upload(runtime.ledger, planned)
        assert queued.skipped == 0
        send(runtime, queued.upload_id)
    sent = [i["document_id"] for u in real.received_uploads() for i in u["items"]]
    assert sorted(sent) == sorted(TRIAL_IDS)


def test_the_same_ids_twice_on_one_target_are_still_duplicates(after_trial, trial_settings, tmp_path):
    with open_runtime(trial_settings, sandbox_behaviour=FAST) as trial:
        planned = plan(trial, write_sheet(tmp_path / "again.csv", TRIAL_IDS))
        assert planned.duplicate_ids == tuple(TRIAL_IDS) and planned.to_send == 0


def test_sandbox_batches_are_never_polled_against_real_atlas(after_trial, real_settings, real):
    with open_runtime(real_settings) as runtime:
        assert runtime.ledger.due_batches(all_unfinished=True) == []
        assert runtime.ledger.next_poll_due() is None
        summary = refresh_batches(runtime.ledger, runtime.client, force=True)
        assert summary.polled == 0
        # Even named explicitly (`refresh --batch ID`), a sandbox batch is not asked of Atlas.
        refresh_batches(runtime.ledger, runtime.client, batch_ids=after_trial["batches"], force=True)
        Worker(runtime).run_once(force_refresh=True)
    assert api_calls(real, EXTRACTS_PATHS) == []
    trial_batches = Ledger(real_settings.ledger_location)
    assert {trial_batches.batch(b)["state"] for b in after_trial["batches"]} == {S.PROCESSING}


def test_resume_and_the_worker_never_send_another_targets_chunks(after_trial, trial_settings,
                                                                real_settings, real, tmp_path):
    every = Ledger(trial_settings.ledger_location)  # unscoped: sees both targets
    with open_runtime(real_settings) as runtime:
        assert runtime.ledger.queued_work() == {"queued": 0, "sending": 0, "next_due": None}
        assert send(runtime).chunks_sent == 0
        Worker(runtime).run_once()
        assert api_calls(real, MULTIUPLOAD_PATHS) == []
        mine = queue_upload(runtime.ledger, plan(runtime, write_sheet(tmp_path / "r.csv", ["R1"])))
    assert {c["state"] for c in chunks_of_upload(every, after_trial["waiting"])} == {S.QUEUED}
    with open_runtime(trial_settings, sandbox_behaviour=FAST) as trial:
        assert send(trial).documents_sent == 2  # the trial's own queued chunk, not real Atlas's
        assert sorted(i["document_id"] for u in trial.sandbox.received_uploads()
                      for i in u["items"] if i["document_id"] in ("Q1", "Q2", "R1")) == ["Q1", "Q2"]
    assert {c["state"] for c in chunks_of_upload(every, mine.upload_id)} == {S.QUEUED}
    assert {c["target"] for c in chunks_of_upload(every, mine.upload_id)} == {normalise_base_url(real.url)}


def test_sandbox_results_stay_out_of_real_exports_counts_and_lists(after_trial, trial_settings,
                                                                  real_settings):
    with open_runtime(trial_settings, sandbox_behaviour=FAST) as trial:
        refresh_batches(trial.ledger, trial.client, force=True)
        assert {d["state"] for d in trial.ledger.iter_documents(upload_id=after_trial["sent"])} == {
            S.EXTRACTED}
    with open_runtime(real_settings) as runtime:
        ledger = runtime.ledger
        assert list(ledger.iter_documents()) == []
        assert list(ledger.iter_documents(states=[S.EXTRACTED])) == []
        assert ledger.list_uploads() == ([], 0)
        assert ledger.upload(after_trial["sent"]) is None
        assert ledger.batches_overview() == ([], 0)
        assert ledger.documents_page() == ([], 0)
        assert ledger.documents_page(state=S.EXTRACTED) == ([], 0)
        assert ledger.counts_by_type_and_state() == []
        assert ledger.field_confidence() == []
        assert ledger.finished_over_time() == []
        assert ledger.chunks_in_state(S.QUEUED) == []
        note = runtime.scope_note()
        assert note == (f"Showing work sent to {runtime.target}. Hidden here: 2 upload(s) sent to"
                        " the built-in sandbox.")
    with open_runtime(trial_settings, sandbox_behaviour=FAST) as trial:
        assert trial.ledger.list_uploads()[1] == 2 and trial.scope_note() is None


def test_retry_and_send_held_refuse_another_targets_upload(trial_settings, real_settings, tmp_path):
    with open_runtime(trial_settings, sandbox_behaviour=FAST) as trial:
        ids = ["F1", "H1", "H2"]
        queued = queue_upload(trial.ledger, plan(
            trial, write_sheet(tmp_path / "f.csv", ids, unreadable=("F1",)), pilot=1))
        send(trial, queued.upload_id)
        refresh_batches(trial.ledger, trial.client, force=True)
        (batch_id,) = [b["batch_id"] for b in trial.ledger.batches_overview()[0]]
        assert trial.ledger.upload(queued.upload_id)["failed"] == 1
        lost = queue_upload(trial.ledger, plan(trial, write_sheet(tmp_path / "u.csv", ["U1"])))
        trial.sandbox.inject("drop", path="/v1/bulk/multiupload")
        assert send(trial, lost.upload_id).uncertain == 1
        (uncertain,) = trial.ledger.chunks_in_state(S.UNCERTAIN)
    with open_runtime(real_settings) as runtime:
        assert runtime.ledger.chunks_in_state(S.UNCERTAIN) == []
        for action in (lambda: retry_failed(runtime.ledger, upload_id=queued.upload_id),
                       lambda: retry_failed(runtime.ledger, batch_id=batch_id),
                       lambda: submit_held(runtime.ledger, queued.upload_id),
                       lambda: resolve_uncertain(runtime.ledger, uncertain["id"], "resend"),
                       lambda: cancel_upload(runtime.ledger, lost.upload_id)):
            with pytest.raises(LedgerError, match="was sent to the built-in sandbox"):
                action()
        assert runtime.ledger.queued_work()["queued"] == 0


@pytest.mark.parametrize(("url", "target"), [
    ("https://user:p%40ss@API.Atlas.Example:443/", "https://api.atlas.example"),
    ("https://api.atlas.example/v2/?token=abc#frag", "https://api.atlas.example/v2"),
    ("http://K3y:S3cr%2Fet+Value==@127.0.0.1:8080", "http://127.0.0.1:8080"),
    ("http://[::1]:80", "http://[::1]"),
])
def test_a_target_is_the_base_url_without_credentials(url, target):
    assert normalise_base_url(url) == target
    assert target_for(Settings(base_url=url, client_id="i", client_secret="s")) == target
    assert target_for(Settings()) == SANDBOX_TARGET


def test_credentials_in_the_base_url_never_reach_the_ledger(tmp_path):
    settings = Settings(db_path=str(tmp_path / "atlas.db"), sandbox_state_path=str(tmp_path / "s.jsonl"),
                        base_url="https://svc-user:Pa55%2Fw+rd=@atlas.example", client_id="i",
                        client_secret="s")
    with open_runtime(settings) as runtime:
        queue_upload(runtime.ledger, plan(runtime, write_sheet(tmp_path / "a.csv", ["A1"])))
        assert runtime.target == "https://atlas.example"
        files = b"".join(p.read_bytes() for p in tmp_path.glob("atlas.db*"))
    assert b"atlas.example" in files
    assert b"Pa55" not in files and b"svc-user" not in files


def test_unknown_work_is_every_real_atlass_and_never_the_sandboxs(tmp_path, real_settings, real,
                                                                 trial_settings):
    bare = Ledger(trial_settings.ledger_location)  # a tool without a target records "unknown"
    from atlas_core.ledger import RowRecord, UploadRecord

    bare.record_upload(UploadRecord("old.csv", "POC_CDL"),
                       [RowRecord(2, "U1", "https://docs.test/ok/U1.jpg", True)], chunk_size=3)
    assert bare.list_uploads()[0][0]["target"] == UNKNOWN_TARGET
    with open_runtime(trial_settings, sandbox_behaviour=FAST) as trial:
        assert send(trial).chunks_sent == 0 and list(trial.ledger.known_ids(["U1"])) == []
    with open_runtime(real_settings) as runtime:
        assert list(runtime.ledger.known_ids(["U1"])) == ["U1"]
        summary = send(runtime)
        assert summary.documents_sent == 1
        (batch_id,) = summary.batches
        assert runtime.ledger.batch(batch_id)["target"] == runtime.target


@pytest.mark.parametrize("ledger_location", ["sqlite"], indirect=True)  # a previous version's file
def test_an_updated_ledger_places_the_trial_by_the_sandbox_journal_and_keeps_real_work_going(
        tmp_path, trial_settings, real_settings, real):
    from test_ledger_targets import previous_ledger

    from atlas_core.sandbox.journal import Journal
    from atlas_core.sandbox.store import BatchStore

    # What the previous version left: the built-in sandbox's journal holds the trial's batch,
    # real Atlas holds the real one, and the ledger (old schema) cannot tell them apart.
    trial_batch = BatchStore(Journal(trial_settings.sandbox_state_path)).accept(
        "POC_CDL", [{"document_id": "S1", "file_url": "https://docs.test/ok/S1.jpg"}])["batch_id"]
    real_batch = real.store.accept(
        "POC_CDL", [{"document_id": "R1", "file_url": "https://docs.test/ok/R1.jpg"}])["batch_id"]
    previous_ledger(Path(trial_settings.db_path),
                    {"BATCH-SBX": trial_batch, "BATCH-REAL": real_batch})
    with open_runtime(real_settings) as runtime:
        assert runtime.ledger.batch(trial_batch)["target"] == SANDBOX_TARGET
        assert list(runtime.ledger.known_ids(["S1", "R1", "Q1"])) == ["Q1", "R1"]
        refresh_batches(runtime.ledger, runtime.client, force=True)
        assert runtime.ledger.batch(real_batch)["state"] == S.COMPLETE
        assert runtime.ledger.batch(trial_batch)["state"] == S.PROCESSING
        assert send(runtime).documents_sent == 1  # Q1, queued before the update
        assert "Hidden here: 1 upload(s) sent to the built-in sandbox." in runtime.scope_note()
        assert {u["id"]: u["target"] for u in runtime.ledger.list_uploads()[0]} == {
            2: runtime.target, 3: runtime.target}
    assert len(api_calls(real, EXTRACTS_PATHS)) >= 1
    assert [i["document_id"] for u in real.received_uploads() for i in u["items"]] == ["R1", "Q1"]
    with open_runtime(trial_settings, sandbox_behaviour=FAST) as trial:
        refresh_batches(trial.ledger, trial.client, force=True)
        assert trial.ledger.batch(trial_batch)["state"] == S.COMPLETE
        assert [u["id"] for u in trial.ledger.list_uploads()[0]] == [1]
        # Real Atlas answered for the old real batch and took the old queued chunk: both
        # uploads are now known to be its.
        assert trial.scope_note() == (
            f"Showing work sent to the built-in sandbox. Hidden here: 2 upload(s) sent to {real.url}.")
