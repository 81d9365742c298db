"""Dashboard page speed on a large ledger against an empty one, in the same run (a script, not a test).

    python benchmarks/bench_pages.py [--documents 100000] [--uploads 10] [--runs 5]
    python benchmarks/bench_pages.py --hints [--documents 100000] [--runs 9]

The target: with 1,000 batches and 100,000 documents in the ledger, the Batches and Results pages
render in at most 2x the time they take on an empty ledger. Three ledgers are filled through the
ledger's own API with the sandbox's realistic results, in batches of 100 documents:
  empty   nothing uploaded (the baseline)
  small   300 documents (a second reference: the same page with tables, cards and charts drawn)
  large   --documents in --uploads uploads (100,000 in 10 x 100 batches x 100 documents)
Each page is rendered with AppTest (the whole script run, widgets and all); the median of
--runs renders is printed per side, warm (the pages' short caches filled) and cold (st.cache_data
cleared before each run, as after a cache expires), with the ratios large/empty and large/small.
The time the render spent inside ledger calls is printed too: an empty page draws far less than
a full one, so the ledger's share shows whether the page's cost still grows with the ledger.

--hints times each page query that carries a planner hint (INDEXED BY, a unary + that keeps an
index out) with its hints and with them stripped, on the large ledger plus a small upload to a
second Atlas, read as every target, as the sandbox (a small part hidden) and as the other Atlas
(a small part visible): a hint stays only where its query is faster with it.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import os
import re
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")  # AppTest's bare-mode warnings, per run

from ledger_fill import answer_chunk  # noqa: E402

from atlas_core.ledger import Ledger, RowRecord, UploadRecord  # noqa: E402
from atlas_core.ledger.targets import SANDBOX_TARGET  # noqa: E402

SMALL = 300
CHUNK = 100
PAGES = {
    "Upload": "app_pages/upload.py",
    "Batches": "app_pages/batches.py",
    "Results": "app_pages/results.py",
    "Connection": "app_pages/connection.py",
}
TARGET_PAGES = ("Batches", "Results")


def fill(path: Path, n: int, uploads: int = 10, target: str = SANDBOX_TARGET, prefix: str = "U") -> None:
    """A ledger with ``n`` finished documents spread over ``uploads`` uploads of 100-document batches."""
    # Recorded as the built-in sandbox's work: the pages below run on it, and show only its work.
    ledger = Ledger(path, target=target)
    per_upload = n // uploads if n else 0
    for u in range(uploads if n else 0):
        rows = [
            RowRecord(
                i + 2,
                f"{prefix}{u}-{i:07d}",
                f"https://kyc.example/{prefix}{u}-{i:07d}.jpg",
                True,
                original={
                    "document_id": f"{prefix}{u}-{i:07d}",
                    "file_url": f"https://kyc.example/{prefix}{u}-{i:07d}.jpg",
                },
            )
            for i in range(per_upload)
        ]
        ledger.record_upload(
            UploadRecord(
                f"upload-{u}.csv",
                "POC_CDL",
                submitted_by="bench",
                columns=("document_id", "file_url"),
            ),
            rows,
            chunk_size=CHUNK,
        )
    while (chunk := ledger.claim_chunk("bench")) is not None:
        answer_chunk(ledger, chunk, f"BATCH-{prefix}{chunk.chunk_id:06d}")
    ledger.close()


class LedgerClock:
    """Seconds the page scripts spend inside Ledger methods (outermost calls; not the worker's)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._depth = threading.local()

    def install(self) -> None:
        """Wrap every public Ledger method once, for this process."""
        for name, method in inspect.getmembers(Ledger, inspect.isfunction):
            if not name.startswith("_"):
                setattr(Ledger, name, self._timed(method))

    def _timed(self, method):  # type: ignore[no-untyped-def]
        @functools.wraps(method)
        def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            if threading.current_thread().name.startswith(("atlas-worker", "ThreadPool")):
                return method(*args, **kwargs)
            depth = getattr(self._depth, "n", 0)
            self._depth.n = depth + 1
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self._depth.n = depth
                if depth == 0:
                    self.seconds += time.perf_counter() - start

        return timed


CLOCK = LedgerClock()


def render_times(db: Path, workdir: Path, runs: int) -> dict[str, dict[str, float]]:
    """Per page: median seconds of a full AppTest run (warm, cold) and of its ledger calls."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["ATLAS_DB_PATH"] = str(db)
    os.environ["ATLAS_SANDBOX_STATE_PATH"] = str(workdir / "sandbox.jsonl")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.secrets["atlas"] = {"product_types": "POC_CDL"}
    at.run()
    out = {}
    for title, path in PAGES.items():
        at.switch_page(path).run()  # warm: the runtime is opened once per process
        assert not at.exception, [e.value for e in at.exception]
        figures: dict[str, list[float]] = {"warm": [], "cold": [], "ledger": [], "ledger_cold": []}
        for kind in ("warm", "cold"):
            for _ in range(runs):
                if kind == "cold":
                    st.cache_data.clear()
                CLOCK.seconds = 0.0
                start = time.perf_counter()
                at.run()
                figures[kind].append(time.perf_counter() - start)
                figures["ledger" if kind == "warm" else "ledger_cold"].append(CLOCK.seconds)
                assert not at.exception, [e.value for e in at.exception]
        out[title] = {k: statistics.median(v) for k, v in figures.items()}
    st.cache_resource.clear()
    return out


def print_table(title: str, sides: dict[str, dict], key: str) -> None:
    """One table: a row per page, a column per ledger, and the ratios against empty and small."""
    print(f"\n{title}")
    print(
        f"{'page':<12}{'empty (ms)':>12}{'small (ms)':>12}{'large (ms)':>12}"
        f"{'large/empty':>13}{'large/small':>13}"
    )
    for page in PAGES:
        empty, small, large = (sides[s][page][key] * 1000 for s in ("empty", "small", "large"))
        mark = "  <- target <= 2x vs empty" if page in TARGET_PAGES else ""
        print(
            f"{page:<12}{empty:>12.1f}{small:>12.1f}{large:>12.1f}"
            f"{large / max(empty, 0.05):>13.2f}{large / max(small, 0.05):>13.2f}{mark}"
        )


OTHER_TARGET = "https://atlas.example"
# Each planner hint the page queries carry, and what takes it out of a statement.
HINTS = {
    "INDEXED BY documents_upload_current": re.compile(r"\s+INDEXED BY documents_upload_current\b"),
    "INDEXED BY documents_upload_state": re.compile(r"\s+INDEXED BY documents_upload_state\b"),
    "+state": re.compile(r"\+(?=(?:d\.)?state\b)"),
    "+upload_id": re.compile(r"\+(?=(?:d\.)?upload_id\b)"),
}


class HintlessConnection(sqlite3.Connection):
    """A connection that runs every statement with the hint named in ``strip`` taken out."""

    strip: str | None = None
    stripped = False  # set when a statement held that hint

    def execute(self, sql, *args):  # type: ignore[no-untyped-def, override]
        if HintlessConnection.strip is not None:
            sql, n = HINTS[HintlessConnection.strip].subn("", sql)
            HintlessConnection.stripped |= bool(n)
        return super().execute(sql, *args)


HINTED_QUERIES = {
    "list_uploads (state counts)": lambda ledger: ledger.list_uploads(),
    "documents_page state=extracted": lambda ledger: ledger.documents_page(state="extracted"),
    "documents_page review<0.8": lambda ledger: ledger.documents_page(needs_review_below=0.8),
    "counts_by_type_and_state": lambda ledger: ledger.counts_by_type_and_state(),
    "counts_by_type_and_state upload 1": lambda ledger: ledger.counts_by_type_and_state(upload_id=1),
    "field_confidence_sample": lambda ledger: ledger.field_confidence_sample(),
    "finished_over_time": lambda ledger: ledger.finished_over_time(),
}


def hint_times(path: Path, runs: int) -> None:
    """Median ms of each hinted query with and without each of its hints, per scope.

    The two sides run in turns, so a machine busy with something else slows both alike; the
    answers must be the same both ways.
    """
    real_connect = sqlite3.connect
    print(f"\n{'query':<34}{'scope':<9}{'hint taken out':<38}{'with (ms)':>10}{'without':>10}"
          f"{'without/with':>14}")
    for scope in (None, SANDBOX_TARGET, OTHER_TARGET):
        hinted = Ledger(path, target=scope)
        # The connections are made now (anchor) and on the first query (this thread's).
        sqlite3.connect = functools.partial(real_connect, factory=HintlessConnection)  # type: ignore[assignment]
        try:
            stripped = Ledger(path, target=scope)
            stripped.upload(1)
        finally:
            sqlite3.connect = real_connect  # type: ignore[assignment]
        label = {None: "every", SANDBOX_TARGET: "sandbox", OTHER_TARGET: "other"}[scope]
        for name, query in HINTED_QUERIES.items():
            for hint in HINTS:
                HintlessConnection.strip, HintlessConnection.stripped = hint, False
                answer = query(stripped)
                if not HintlessConnection.stripped:
                    continue  # this query does not carry this hint in this scope
                assert answer == query(hinted), f"{name} answers differently without {hint}"
                times: dict[int, list[float]] = {0: [], 1: []}
                for _ in range(runs):
                    for side, ledger in enumerate((hinted, stripped)):
                        start = time.perf_counter()
                        query(ledger)
                        times[side].append(time.perf_counter() - start)
                medians = [statistics.median(times[side]) * 1000 for side in (0, 1)]
                print(f"{name:<34}{label:<9}{hint:<38}{medians[0]:>10.1f}{medians[1]:>10.1f}"
                      f"{medians[1] / max(medians[0], 0.01):>14.2f}", flush=True)
        HintlessConnection.strip = None
        hinted.close()
        stripped.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--uploads", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--hints", action="store_true", help="time the hinted page queries only")
    parser.add_argument("--ledger", type=Path, help="with --hints: fill this file once, reuse it after")
    args = parser.parse_args()
    if args.hints:
        with tempfile.TemporaryDirectory() as tmp:
            path = args.ledger or Path(tmp) / "hints.db"
            if not path.exists():
                start = time.perf_counter()
                other = max(args.documents // 100, 100)
                fill(path, args.documents, args.uploads)
                fill(path, other, 1, target=OTHER_TARGET, prefix="R")
                print(f"filled {args.documents:,} sandbox documents and {other:,} for another Atlas"
                      f" in {time.perf_counter() - start:.1f} s")
            hint_times(path, args.runs)
        return
    CLOCK.install()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        sides = {}
        for name, n in (("empty", 0), ("small", SMALL), ("large", args.documents)):
            start = time.perf_counter()
            fill(tmp_path / f"{name}.db", n, args.uploads)
            ledger = Ledger(tmp_path / f"{name}.db")
            _, batches = ledger.batches_overview(limit=1)
            ledger.close()
            print(
                f"filled the {name} ledger with {n:,} documents in {batches:,} batches"
                f" in {time.perf_counter() - start:.1f} s"
            )
            sides[name] = render_times(tmp_path / f"{name}.db", tmp_path, args.runs)
    print_table("Page render, warm (median ms)", sides, "warm")
    print_table("Page render, cold: st.cache_data cleared before each run (median ms)", sides, "cold")
    print_table("Of which inside ledger calls, warm (median ms)", sides, "ledger")
    print_table("Of which inside ledger calls, cold (median ms)", sides, "ledger_cold")


if __name__ == "__main__":
    main()
