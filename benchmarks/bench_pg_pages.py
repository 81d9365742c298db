"""The Batches and Results pages' ledger queries on PostgreSQL with 1,000,000 documents.

    python benchmarks/bench_pg_pages.py [--documents 1000000] [--uploads 10] [--chunk-size 1000]
                                        [--runs 5] [--keep URL]

A throwaway cluster (tests/pg_support.py's) gets a ledger filled through the ledger's own API
(benchmarks/ledger_fill.py: every chunk sent and answered with the sandbox's results, as a refresh
stores them). Then each page is rendered with AppTest on that ledger (ATLAS_DATABASE_URL), every
public Ledger call the page makes timed, cold (st.cache_data cleared) --runs times; the slowest
median call per page must be under 200 ms. The database has auto_explain on (plans of statements
over 50 ms go to the cluster's log), and the plans of those statements are printed: a sequential
scan of documents there is what an index of the page's own must fix.
"""

from __future__ import annotations

import argparse
import functools
import inspect
import os
import statistics
import sys
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")

from ledger_fill import answer_chunk  # noqa: E402
from soak_postgres import start_cluster  # noqa: E402

from atlas_core.ledger import Ledger, RowRecord, UploadRecord  # noqa: E402
from atlas_core.ledger.targets import normalise_base_url  # noqa: E402

PAGES = {"Batches": "app_pages/batches.py", "Results": "app_pages/results.py"}
LIMIT_MS = 200.0
# The pages run as a replica of this Atlas (nothing listens: the pages only read the ledger), and
# the ledger is filled as its work, so every document is visible to them.
BASE_URL = "http://127.0.0.1:9"


def fill(url: str, documents: int, uploads: int, chunk_size: int) -> float:
    """``documents`` finished documents in ``uploads`` uploads; the seconds it took."""
    started = time.perf_counter()
    ledger = Ledger(url, target=normalise_base_url(BASE_URL))
    per_upload = documents // uploads
    for u in range(uploads):
        rows = [RowRecord(i + 2, f"U{u}-{i:07d}", f"https://kyc.example/U{u}-{i:07d}.jpg", True,
                          original={"document_id": f"U{u}-{i:07d}",
                                    "file_url": f"https://kyc.example/U{u}-{i:07d}.jpg"})
                for i in range(per_upload)]
        ledger.record_upload(UploadRecord(f"upload-{u}.csv", "POC_CDL", submitted_by="bench",
                                          columns=("document_id", "file_url")),
                             rows, chunk_size=chunk_size)
        print(f"  upload {u + 1}/{uploads} queued ({time.perf_counter() - started:.0f} s)",
              flush=True)
    done = 0
    while (chunk := ledger.claim_chunk("bench")) is not None:
        answer_chunk(ledger, chunk, f"BATCH-{chunk.chunk_id:07d}")
        done += len(chunk.documents)
        if done % (documents // 10 or 1) < chunk_size:
            print(f"  {done:,} answered ({time.perf_counter() - started:.0f} s)", flush=True)
    ledger.close()
    return time.perf_counter() - started


class CallClock:
    """Seconds each outermost public Ledger call of the page's own thread takes."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, float]] = []
        self._depth = threading.local()

    def install(self) -> None:
        """Wrap every public Ledger method, for this process."""
        for name, method in inspect.getmembers(Ledger, inspect.isfunction):
            if not name.startswith("_"):
                setattr(Ledger, name, self._timed(name, method))

    def _timed(self, name: str, method: Any) -> Any:
        @functools.wraps(method)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if threading.current_thread().name.startswith(("atlas-", "ThreadPool")):
                return method(*args, **kwargs)
            depth = getattr(self._depth, "n", 0)
            self._depth.n = depth + 1
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self._depth.n = depth
                if depth == 0:
                    self.calls.append((name, time.perf_counter() - start))

        return timed


def page_calls(url: str, workdir: Path, runs: int, clock: CallClock) -> dict[str, dict[str, float]]:
    """Per page, per Ledger method: the median seconds over ``runs`` cold renders."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ.update(ATLAS_DATABASE_URL=url, ATLAS_SANDBOX_STATE_PATH=str(workdir / "sandbox.jsonl"),
                      ATLAS_EMBEDDED_WORKER="0", ATLAS_BASE_URL=BASE_URL,
                      ATLAS_CLIENT_ID="bench", ATLAS_CLIENT_SECRET="bench-secret")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.secrets["atlas"] = {"product_types": "POC_CDL"}
    at.run()
    out: dict[str, dict[str, float]] = {}
    for title, path in PAGES.items():
        at.switch_page(path).run()
        assert not at.exception, [e.value for e in at.exception]
        per_call: dict[str, list[float]] = defaultdict(list)
        for _ in range(runs):
            st.cache_data.clear()
            clock.calls = []
            at.run()
            assert not at.exception, [e.value for e in at.exception]
            for name, seconds in clock.calls:
                per_call[name].append(seconds)
        out[title] = {name: statistics.median(v) for name, v in per_call.items()}
    return out


def main() -> int:
    """Fill, render, print the slowest calls and their plans; 1 when a page's call is over 200 ms."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--uploads", type=int, default=10)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the cluster (print its URL)")
    parser.add_argument("--reuse", metavar="URL", help="a ledger filled by an earlier --keep run")
    parser.add_argument("--log-dir", default=".", help="with --reuse: the kept cluster's folder")
    args = parser.parse_args()
    import psycopg

    cluster = start_cluster() if not args.reuse else None
    try:
        if args.reuse:
            url = args.reuse
        else:
            url = cluster.fresh_database()
            print(f"filling {args.documents:,} documents ...", flush=True)
            took = fill(url, args.documents, args.uploads, args.chunk_size)
            print(f"filled in {took:.0f} s", flush=True)
            if args.keep:
                print(f"kept: {url} (cluster {cluster.root})", flush=True)
        with psycopg.connect(url, autocommit=True) as conn:  # the harness's, not the ledger's
            conn.execute("VACUUM ANALYZE")
            name = conn.execute("SELECT current_database()").fetchone()[0]
            conn.execute(f'ALTER DATABASE "{name}" SET session_preload_libraries = \'auto_explain\'')
            conn.execute(f'ALTER DATABASE "{name}" SET auto_explain.log_min_duration = 50')
        clock = CallClock()
        clock.install()
        log = (cluster.root if cluster else Path(args.log_dir)) / "server.log"
        log_start = log.stat().st_size if log.exists() else 0
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            times = page_calls(url, Path(tmp), args.runs, clock)
        worst = 0.0
        for page, calls in times.items():
            print(f"\n{page}: {len(calls)} ledger calls per render (median of {args.runs} cold renders)")
            for name, seconds in sorted(calls.items(), key=lambda kv: -kv[1]):
                ms = seconds * 1000
                worst = max(worst, ms)
                mark = "  <- over 200 ms" if ms > LIMIT_MS else ""
                print(f"  {name:<34} {ms:8.1f} ms{mark}")
        plans = log.read_text(errors="replace")[log_start:] if log.exists() else ""
        slow = [block for block in plans.split("LOG:  duration:")[1:]]
        print(f"\nstatements over 50 ms (auto_explain): {len(slow)}")
        for block in slow[:8]:
            print("  duration:" + block[:1500].rstrip())
        print(f"\nslowest page call: {worst:.1f} ms (limit {LIMIT_MS:.0f} ms) on {os.cpu_count()} cores")
        return 1 if worst > LIMIT_MS else 0
    finally:
        if cluster is not None and not args.keep:
            cluster.remove()


if __name__ == "__main__":
    sys.exit(main())
