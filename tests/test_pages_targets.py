"""The pages after a sandbox trial, once the dashboard points at "real Atlas": the trial stays out.

The trial runs through the engine on the page tests' ledger and sandbox journal; "real Atlas" is
a second sandbox server whose URL and credentials go into the dashboard's [atlas] secrets.
"""

from __future__ import annotations

import pytest
from test_pages_support import (
    PAGES,
    Downloads,
    ledger_of,
    open_app,
    released_runtimes,  # noqa: F401 (a fixture, for pytestmark)
    texts,
)

from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Settings
from atlas_core.engine import (
    open_runtime,
    plan_upload,
    queue_upload,
    refresh_batches,
    send_until_answered,
)
from atlas_core.intake import read_spreadsheet, validate_sheet

pytestmark = pytest.mark.usefixtures("released_runtimes")

TRIAL_IDS = ["T1", "T2", "T3"]
REAL_IDS = ["R1", "R2"]


def run_through(settings: Settings, tmp_path, name: str, ids: list[str], **behaviour) -> list[str]:
    """Submit ``ids`` and fetch their results through the engine; return the batch ids."""
    path = tmp_path / name
    path.write_text("document_id,file_url\n" + "".join(
        f"{d},https://docs.test/ok/{d}.jpg\n" for d in ids), encoding="utf-8")
    with open_runtime(settings, sandbox_behaviour=behaviour or None) as runtime:
        sheet = read_spreadsheet(path)
        plan = plan_upload(runtime.ledger, sheet, validate_sheet(sheet), product_type="POC_CDL",
                           chunk_size=10)
        queue_upload(runtime.ledger, plan)
        batches = send_until_answered(runtime.ledger, runtime.client, worker_id="t").batches
        refresh_batches(runtime.ledger, runtime.client, force=True)
    return batches


@pytest.fixture
def real_app(tmp_path, monkeypatch, make_sandbox):
    """A finished sandbox trial and a finished real run in one ledger; the app on real Atlas."""
    real = make_sandbox(state_path=tmp_path / "real-atlas.jsonl", processing_seconds=0.0)
    trial = Settings(db_path=str(tmp_path / "atlas.db"),
                     sandbox_state_path=str(tmp_path / "sandbox.jsonl"))
    trial_batches = run_through(trial, tmp_path, "trial.csv", TRIAL_IDS, processing_seconds=0.0)
    real_batches = run_through(trial.with_base_url(real.url, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET),
                               tmp_path, "real.csv", REAL_IDS)
    assert ledger_of(tmp_path).list_uploads()[1] == 2
    downloads = Downloads(monkeypatch)
    at = open_app(tmp_path, monkeypatch, base_url=real.url, client_id=SANDBOX_CLIENT_ID,
                  client_secret=SANDBOX_CLIENT_SECRET)
    return at, real, (trial_batches, real_batches), downloads


HIDDEN = "Hidden here: 1 upload(s) sent to the built-in sandbox."


def test_the_results_page_and_its_downloads_hold_only_real_work(real_app):
    at, real, _, downloads = real_app
    at.switch_page(PAGES["Results"]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert sorted(at.dataframe[0].value["document_id"]) == REAL_IDS
    assert len(at.selectbox(key="results_upload").options) == 2  # "All uploads" and the real one
    exported = downloads.data(at, "download_csv_wide").decode("utf-8-sig")
    assert "R1" in exported and not any(t in exported for t in TRIAL_IDS)
    # captions escape markdown characters and keep URLs from becoming links (a word joiner)
    shown = texts(at).replace("\\", "").replace("\u2060", "")
    assert f"Showing work sent to {real.url}. {HIDDEN}" in shown


def test_the_batches_page_shows_only_real_batches_and_says_what_is_hidden(real_app):
    at, _, (trial_batches, real_batches), _ = real_app
    at.switch_page(PAGES["Batches"]).run()
    assert not at.exception, [e.value for e in at.exception]
    shown = texts(at) + "".join(df.value.to_csv() for df in at.dataframe)
    assert all(b in shown for b in real_batches)
    assert not any(b in shown for b in trial_batches)
    assert HIDDEN in shown.replace("\\", "")
