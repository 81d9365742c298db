"""Broken and malicious spreadsheets: each ends in a plain IntakeError or a clean report.

Every file of tests/hostile/make_hostile.py is read (and validated) in a child process with its
address space capped (RLIMIT_AS) and a time limit, so a zip bomb or a parser that loops shows as
a failed test instead of taking the machine down. The child reports what happened; the test
asserts it ended the expected way, with a message a person can read, and never with a
traceback, a MemoryError or a kill.
"""

from __future__ import annotations

import importlib.util
import json
import multiprocessing
import re
import resource
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import pytest

from atlas_core.errors import IntakeError
from atlas_core.intake import read_spreadsheet, validate_sheet

HERE = Path(__file__).resolve().parent
MEMORY_BUDGET = 1536 * 1024 * 1024  # bytes of address space a read may add to the test process
TIME_LIMIT = 60.0  # seconds per file; reads take well under a second to a few seconds
PYTHON_INTERNALS = re.compile(r"Traceback|File \"|Error\(|Exception|<[a-z_.]+ object at 0x|\\x00")


def load_generator():
    """tests/hostile/make_hostile.py as a module."""
    spec = importlib.util.spec_from_file_location("make_hostile", HERE / "hostile" / "make_hostile.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_hostile"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


GENERATOR = load_generator()
CASES = {case.name: case for case in GENERATOR.cases()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Every hostile file, big ones included, written once for this module."""
    folder = tmp_path_factory.mktemp("hostile")
    GENERATOR.write_all(folder)
    return folder


def _vm_size() -> int:
    status = Path("/proc/self/status").read_text()
    return int(re.search(r"VmSize:\s+(\d+) kB", status).group(1)) * 1024


def _summary(path: str) -> dict[str, object]:
    """What the parent checks of a read that succeeded (the child sends only this)."""
    sheet = read_spreadsheet(path)
    report = validate_sheet(sheet)
    text = json.dumps(report.to_dict(), ensure_ascii=False, default=str)
    return {"rows": report.rows, "valid": report.valid, "invalid": report.invalid,
            "size": len(text), "leaks_passwd": "root:x:0:0" in text,
            "columns": [str(c) for c in sheet.frame.columns][:5]}


def _capped_child(read: Callable[[str], object], path: str, conn, budget: int) -> None:
    limit = _vm_size() + budget
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        conn.send(("report", read(path)))
    except IntakeError as exc:
        conn.send(("error", exc.user_message()))
    except BaseException:  # the point of the test: anything else is a failure to report
        conn.send(("crash", traceback.format_exc()[-3000:]))
    finally:
        conn.close()


def run_capped(
    read: Callable[[str], object], path: Path, budget: int, time_limit: float
) -> tuple[str, object]:
    """``read(path)`` in a forked child capped at ``budget`` more bytes of address space:
    ('report', what read returned) | ('error', message) | ('crash', traceback) | ('killed'|'timeout', ...)."""
    ctx = multiprocessing.get_context("fork")  # inherits the imports: a read costs no start-up
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_capped_child, args=(read, str(path), child, budget))
    proc.start()
    child.close()
    outcome: tuple[str, object] | None = None
    if parent.poll(time_limit):
        try:
            outcome = parent.recv()
        except EOFError:
            outcome = None
    proc.join(5)
    if proc.is_alive():
        proc.kill()
        proc.join()
        return ("timeout", f"still running after {time_limit:.0f} s")
    if outcome is None:
        return ("killed", f"exit code {proc.exitcode}")
    return outcome


def read_in_child(path: Path) -> tuple[str, object]:
    """('report', summary) | ('error', message) | ('crash', traceback) | ('killed'|'timeout', ...)."""
    return run_capped(_summary, path, MEMORY_BUDGET, TIME_LIMIT)


def test_the_corpus_has_at_least_thirty_files():
    assert len(CASES) >= 30
    assert len({c.name for c in GENERATOR.cases()}) == len(CASES)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(CASES))
def test_each_hostile_file_ends_in_a_plain_message_or_a_clean_report(corpus, name):
    case = CASES[name]
    kind, detail = read_in_child(corpus / name)
    assert kind in ("report", "error"), f"{name}: {kind}\n{detail}"
    if case.expect != "either":
        assert kind == case.expect, f"{name}: expected {case.expect}, got {kind}: {detail}"
    if kind == "error":
        assert 10 < len(detail) < 600, detail
        assert not PYTHON_INTERNALS.search(detail), detail
    else:
        assert not detail["leaks_passwd"], "an external XML entity was resolved"
        assert detail["rows"] == detail["valid"] + detail["invalid"]


@pytest.mark.slow
def test_a_zip_slip_entry_writes_nothing_outside(corpus):
    target = Path("/tmp/atlas-zip-slip.txt")
    target.unlink(missing_ok=True)
    read_in_child(corpus / "zip_slip.xlsx")
    assert not target.exists()


@pytest.mark.slow
def test_hostile_cell_text_is_kept_as_text_never_evaluated(corpus):
    # Formulas and markup are values like any other: the report keeps them as written.
    sheet = read_spreadsheet(corpus / "formulas.csv")
    ids = list(sheet.frame["document_id"])
    assert "=cmd|' /C calc'!A0" in ids and "+SUM(1,2)" in ids
    markup = read_spreadsheet(corpus / "markup_in_cells.csv")
    assert "<script>alert(1)</script>" in list(markup.frame["document_id"])


@pytest.mark.slow
def test_excel_error_cells_never_pass_as_values(corpus):
    # calamine reads #REF!, #N/A... as empty cells: every row holding one is invalid, none sent.
    report = validate_sheet(read_spreadsheet(corpus / "excel_errors.xlsx"))
    assert report.valid == 0
    assert {p.code for p in report.problems} == {"ID_MISSING", "URL_MISSING"}


def test_the_harness_reports_a_crash_and_a_memory_blowup(tmp_path):
    # The harness must be able to fail: a file that is a directory is an IntakeError, and a path
    # that cannot be a file ends in an error too; an exhausted budget shows as a crash, not a pass.
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    assert read_in_child(folder)[0] == "error"
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_allocate_capped, args=(child,))
    proc.start()
    child.close()
    kind, detail = parent.recv()
    proc.join()
    assert kind == "crash" and "MemoryError" in detail


def _allocate_capped(conn) -> None:
    limit = _vm_size() + 64 * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        conn.send(("allocated", len(bytearray(512 * 1024 * 1024))))
    except BaseException:
        conn.send(("crash", traceback.format_exc()))
