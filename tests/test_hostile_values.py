"""Values from Atlas are untrusted too: formulas, markup, huge strings, wrong types, unknown types.

A sandbox with ``hostile_rate=1`` spoils every result the ways a careless or hostile upstream
might. The whole path must hold: refresh stores every result exactly as Atlas sent it, exports
neutralise formulas (CSV and XLSX), and the dashboard shows the values as text, never as HTML.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import time

import pytest
from openpyxl import load_workbook
from test_pages_support import PAGES, open_app, release_runtimes

from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Settings
from atlas_core.engine import Worker, open_runtime, plan_upload, queue_upload
from atlas_core.intake import read_spreadsheet, validate_sheet
from atlas_core.neutralise import FORMULA_PREFIXES
from atlas_core.results import export_documents

DOCUMENTS = 40
FORMULA = "=cmd|' /C calc'!A0"
SCRIPT = "<script>alert(1)</script>"

pytestmark = pytest.mark.slow


def spoiled_kinds(file_data: dict) -> set[str]:
    """Which of the sandbox's hostile spoils a result carries."""
    kinds = set()
    if file_data.get("document_type") == "UDYAM_CERT":
        kinds.add("unknown_type")
    for value in file_data.values():
        if not isinstance(value, dict) or "value" not in value:
            continue
        v = value["value"]
        if v == FORMULA:
            kinds.add("formula")
        elif v == SCRIPT:
            kinds.add("script")
        elif isinstance(v, str) and len(v) >= 10_000:
            kinds.add("huge")
        elif isinstance(v, bool) or isinstance(v, int):
            kinds.add("number")
        elif v is None:
            kinds.add("null")
        elif isinstance(v, list):
            kinds.add("list")
        if "confidence_score" not in value:
            kinds.add("no_confidence")
    return kinds


@pytest.fixture(scope="module")
def hostile_ledger(tmp_path_factory):
    """A ledger holding DOCUMENTS results, every one spoiled, refreshed from a real sandbox."""
    from atlas_core.sandbox import Behaviour, SandboxServer

    folder = tmp_path_factory.mktemp("hostile-values")
    sheet_path = folder / "docs.csv"
    sheet_path.write_text("document_id,file_url\n" + "".join(
        f"HV{i},https://files.example.com/kyc/HV{i}.jpg\n" for i in range(DOCUMENTS)))
    with SandboxServer(state_path=folder / "atlas-side.jsonl",
                       behaviour=Behaviour(processing_seconds=0.2, hostile_rate=1.0)) as atlas:
        settings = Settings(db_path=str(folder / "atlas.db")).with_base_url(
            atlas.url, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET)
        with open_runtime(settings) as runtime:
            sheet = read_spreadsheet(sheet_path)
            plan = plan_upload(runtime.ledger, sheet, validate_sheet(sheet), product_type="POC_CDL",
                               chunk_size=10)
            queue_upload(runtime.ledger, plan)
            worker = Worker(runtime)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                atlas.advance(1.0)
                worker.run_once(force_refresh=True)
                rows = list(runtime.ledger.iter_documents())
                if rows and all(r["state"] in ("extracted", "failed") for r in rows):
                    break
            truth = {t["document_id"]: t for b in {r["batch_id"] for r in rows}
                     for t in atlas.truth(b)}
    return {"folder": folder, "rows": rows, "truth": truth, "url": atlas.url}


def test_every_spoiled_result_is_stored_exactly_as_atlas_sent_it(hostile_ledger):
    rows, truth = hostile_ledger["rows"], hostile_ledger["truth"]
    assert len(rows) == DOCUMENTS
    kinds = set()
    for row in rows:
        held = truth[row["document_id"]]
        assert held["hostile"]
        assert row["state"] == "extracted", (row["document_id"], row["error"])
        assert row["file_data"] == held["file_data"]
        kinds |= spoiled_kinds(row["file_data"])
    # The sandbox picks a spoil per document from its hash: these 40 documents meet every kind.
    assert kinds == {"formula", "script", "huge", "number", "null", "list", "unknown_type",
                     "no_confidence"}, kinds


@pytest.mark.parametrize("layout", ["wide", "long"])
def test_csv_exports_neutralise_every_formula(hostile_ledger, layout):
    text = export_documents(hostile_ledger["rows"], "csv", layout).decode("utf-8-sig")
    cells = [cell for line in csv.reader(io.StringIO(text, newline="")) for cell in line]
    assert "'" + FORMULA in cells and SCRIPT in cells
    live = [c for c in cells if c.startswith(FORMULA_PREFIXES) and not _is_number(c)]
    assert live == []


@pytest.mark.parametrize("layout", ["wide", "long"])
def test_xlsx_exports_hold_no_formula_and_fit_excel(hostile_ledger, layout):
    book = load_workbook(io.BytesIO(export_documents(hostile_ledger["rows"], "xlsx", layout)))
    values = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.value
                values.append(cell.value)
    texts = [v for v in values if isinstance(v, str)]
    assert "'" + FORMULA in texts and SCRIPT in texts
    assert max(len(t) for t in texts) <= 32_767


def test_json_export_keeps_values_as_atlas_sent_them(hostile_ledger):
    objects = json.loads(export_documents(hostile_ledger["rows"], "json", "wide"))
    dumped = json.dumps(objects)
    assert FORMULA in dumped and SCRIPT in dumped
    assert len(objects) == DOCUMENTS


@pytest.fixture
def results_app(hostile_ledger, tmp_path, monkeypatch):
    """The dashboard on the hostile ledger."""
    source = sqlite3.connect(hostile_ledger["folder"] / "atlas.db")
    with sqlite3.connect(tmp_path / "atlas.db") as copy:  # the app's ledger is tmp_path/atlas.db
        source.backup(copy)
    source.close()
    copy.close()
    # Pointed at the Atlas that holds this work: a ledger shows only its target's work. Its
    # batches are complete, so the (now stopped) server is never asked anything.
    at = open_app(tmp_path, monkeypatch, "Results", base_url=hostile_ledger["url"],
                  client_id=SANDBOX_CLIENT_ID, client_secret=SANDBOX_CLIENT_SECRET)
    yield at
    release_runtimes()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_the_pages_show_hostile_values_as_text_and_never_as_html(results_app, hostile_ledger):
    at = results_app
    assert not at.exception, [e.value for e in at.exception]
    for row in hostile_ledger["rows"]:
        if "script" not in spoiled_kinds(row["file_data"]):
            continue
        label = next(o for o in at.selectbox(key="results_document").options
                     if o.startswith(row["document_id"] + " "))
        at.selectbox(key="results_document").select(label).run()
        assert not at.exception, [e.value for e in at.exception]
        fields = at.dataframe[1].value
        assert SCRIPT in fields["Value"].tolist()  # the value itself, as a text cell
        break
    else:
        pytest.fail("no document carries a script value")
    for title in ("Results", "Batches", "Upload", "Connection"):
        at.switch_page(PAGES[title]).run()
        assert not at.exception, (title, [e.value for e in at.exception])
        for element in at.markdown:
            assert not element.proto.allow_html, (title, element.value)
            assert "<script" not in element.value, (title, element.value)
