"""After sending (issue 12): an unreachable or refusing Atlas shows in the sidebar and on each
upload, failures are explained by reason with Retry only for those a retry may help, and a done
pilot says so with its Send the rest button on Batches and Upload."""

from __future__ import annotations

import csv
import io
import socket

import pytest
from test_pages_support import (
    PAGES,
    Downloads,
    badges,
    finish_processing,
    ledger_of,
    open_app,
    released_runtimes,  # noqa: F401 (a fixture, for pytestmark)
    sheet_csv,
    submit_sheet,
    texts,
    wait_until,
)

from atlas_core.results.failures import FIX, RETRY, failure_kind

pytestmark = pytest.mark.usefixtures("released_runtimes")


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def sidebar(at, kind: str) -> str:
    """The sidebar's boxes of one kind (error, warning, info, success) as one string."""
    return "\n".join(str(e.value) for e in getattr(at.sidebar, kind))


def test_an_unreachable_atlas_turns_the_sidebar_amber_and_the_upload_says_why(tmp_path, monkeypatch):
    at = open_app(
        tmp_path, monkeypatch,
        base_url=f"http://127.0.0.1:{closed_port()}", client_id="analyst-client",
        client_secret="s3cret-value", max_retries=0, backoff_base=0.2,
    )

    def amber() -> bool:
        at.run()
        return "Can't reach Atlas" in sidebar(at, "warning")

    wait_until(amber, "the sidebar to say Atlas cannot be reached")
    assert "connection refused" in sidebar(at, "warning")
    assert not at.sidebar.success, "no green Atlas box while the last call failed"
    assert "waiting for Atlas" in "\n".join(str(e.value) for e in at.sidebar.text)

    submit_sheet(at, sheet_csv(["O1", "O2"]))
    ledger = ledger_of(tmp_path)
    wait_until(lambda: ledger.sending_trouble(1)["attempts"] >= 2, "the worker to try twice")
    at.switch_page(PAGES["Batches"]).run()
    card = texts(at, "warning")
    assert "Can't reach Atlas: connection refused;" in card
    assert "tries; next" in card
    assert "s3cret-value" not in card + sidebar(at, "warning")
    at.switch_page(PAGES["Upload"]).run()  # the Upload page follows the upload it sent
    assert "Can't reach Atlas: connection refused;" in texts(at, "warning")


def test_refused_credentials_turn_the_sidebar_red_and_the_upload_says_so(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, behaviour={"refuse_credentials": True})

    def red() -> bool:
        at.run()
        return "Atlas refused the credentials" in sidebar(at, "error")

    wait_until(red, "the sidebar to say Atlas refused the credentials")
    submit_sheet(at, sheet_csv(["R1", "R2"]))
    ledger = ledger_of(tmp_path)
    wait_until(lambda: ledger.sending_trouble(1)["attempts"] >= 1, "the worker to try")
    at.switch_page(PAGES["Batches"]).run()
    card = texts(at, "error")
    assert "Atlas refused the credentials:" in card
    assert "connection refused" not in card  # the credentials were refused, not the connection
    assert "try" in card and "next" in card
    assert {d["state"] for d in ledger.iter_documents()} == {"queued"}


def test_failures_are_explained_and_retry_offers_only_those_a_retry_may_help(tmp_path, monkeypatch):
    downloads = Downloads(monkeypatch)
    at = open_app(tmp_path, monkeypatch,
                  behaviour={"fail_rate": 0.7, "temporary_fail_share": 0.5, "seed": 3})
    submit_sheet(at, sheet_csv([f"F{i}" for i in range(16)]))
    ledger = ledger_of(tmp_path)
    row = finish_processing(at, ledger, 1, 16)
    failed = [d for d in ledger.iter_documents() if d["state"] == "failed"]
    kinds = [failure_kind(d["error"]) for d in failed]
    to_retry, to_fix = kinds.count(RETRY), kinds.count(FIX)
    assert to_retry and to_fix, "the sandbox should fail documents of both kinds"
    assert row["failed"] == to_retry + to_fix

    reasons = next(d.value for d in at.dataframe if "Reason" in d.value.columns)
    assert reasons["Documents"].sum() == row["failed"]
    assert set(reasons["What to do"]) == {"Fix the file or link", "Retry may help"}
    assert any("TIMEOUT" in r for r in reasons["Reason"])
    summary = texts(at, "markdown")
    assert f"{to_fix} need their file or link fixed; {to_retry} may work if retried." in summary

    fix_file = list(csv.reader(io.StringIO(downloads.data(at, "download_to_fix_1").decode("utf-8-sig"))))
    assert len(fix_file) == 1 + to_fix and fix_file[0][:2] == ["document_id", "file_url"]

    retry = at.button(key="retry_1")
    assert retry.label == f"Retry {to_retry} that may work now"
    retry.click().run()
    message = texts(at, "success")
    assert f"{to_retry} failed document(s) of upload 1 queued again" in message
    assert f"{to_fix} left as they are: their file or link needs fixing" in message
    current = [d for d in ledger.iter_documents() if d["attempt"] == 1 and d["state"] == "failed"]
    left = [d for d in current if not d.get("superseded")]
    assert all(failure_kind(d["error"]) == FIX for d in left) and len(left) == to_fix


def test_a_done_pilot_says_so_and_offers_send_the_rest_on_batches_and_upload(tmp_path, monkeypatch):
    at = open_app(tmp_path, monkeypatch, "Upload")
    at.file_uploader[0].set_value(("pilot.csv", sheet_csv([f"P{i}" for i in range(10)]), "text/csv"))
    at.run()
    at.text_input(key="submitter_input").input("Asha").run()
    at.checkbox(key="pilot_on").check().run()
    at.number_input(key="pilot_rows").set_value(3).run()
    at.button(key="review").click().run()
    at.button(key="confirm_send").click().run()
    ledger = ledger_of(tmp_path)
    finish_processing(at, ledger, 1, 3)

    assert badges(at) == ["Pilot done"]
    assert "Pilot done: 7 rows held; send the rest" in texts(at, "info")
    assert "100% finished" not in "\n".join(str(p.proto.text) for p in at.get("progress"))
    assert at.button(key="send_held_1").label == "Send the rest (7 held rows)"

    at.switch_page(PAGES["Upload"]).run()
    assert "Pilot done: 7 rows held; send the rest" in texts(at, "info")
    at.button(key="send_held_1").click().run()
    assert "7 held document(s) of upload 1 queued." in texts(at, "success")
    assert ledger.upload(1)["rows_held"] == 0
