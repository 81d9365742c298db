"""Documents submitted and refreshed per second with 1, 2 and 4 worker processes on PostgreSQL,
and with one worker on SQLite, against the sandbox at 50 ms latency, all in the same run.

    python benchmarks/bench_workers.py [--documents 3000] [--chunk-size 25] [--latency 0.05]
                                       [--workers 1,2,4] [--repeat 2]

For each setting, fresh: a ledger (a new database of one throwaway PostgreSQL cluster, or a new
SQLite file), and N ``python -m atlas_core worker`` processes, started and registered before the
clock starts (their start-up is not timed). Then:
  submit   the documents are queued (one upload, --chunk-size per request) and the workers woken;
           timed until nothing is queued or in flight: documents submitted per second.
  refresh  once Atlas has finished them, "Refresh now" (the ledger's refresh signal); timed until
           every document is extracted or failed: documents refreshed per second.
The submit budget is the default ATLAS_MAX_IN_FLIGHT (8) with ATLAS_SUBMIT_CONCURRENCY 4 lanes
per worker, so two workers reach it: the targets are PostgreSQL x1 within 1.3x of SQLite x1, and
2 workers at least 1.7x one worker (submitting), until the budget is reached (4 workers: capped).
Each number is the best of --repeat runs (the median is printed too): the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from soak_postgres import start_cluster  # noqa: E402

from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET  # noqa: E402
from atlas_core.ledger import Ledger, RowRecord, UploadRecord  # noqa: E402
from atlas_core.ledger import states as S  # noqa: E402
from atlas_core.ledger.signals import REFRESH, WORK  # noqa: E402


def start_sandbox(latency: float, processing: float) -> tuple[subprocess.Popen, str]:
    """``python -m atlas_core sandbox`` with every request delayed by ``latency`` seconds."""
    behaviour = json.dumps({"processing_seconds": processing, "latency": latency})
    proc = subprocess.Popen(
        [sys.executable, "-m", "atlas_core", "sandbox", "--port", "0", "--state", "",
         "--behaviour", behaviour], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    return proc, line.rsplit(" ", 1)[1].strip()


def wait_until(check: Any, limit: float = 600.0, pause: float = 0.02) -> None:
    """Poll ``check()`` until true; RuntimeError after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError("the workers did not finish in time")
        time.sleep(pause)


def one_run(location: str, url: str, workers: int, documents: int, chunk_size: int,
            folder: Path) -> dict[str, float]:
    """Start ``workers`` worker processes on a fresh ledger; time the submit and refresh phases."""
    where = {"ATLAS_DATABASE_URL": location} if location.startswith("postgresql://") \
        else {"ATLAS_DB_PATH": location}
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("ATLAS_")},
           "PYTHONPATH": str(ROOT), "ATLAS_BASE_URL": url, "ATLAS_CLIENT_ID": SANDBOX_CLIENT_ID,
           "ATLAS_CLIENT_SECRET": SANDBOX_CLIENT_SECRET, **where}
    ledger = Ledger(location)
    procs = []
    try:
        for n in range(workers):
            with (folder / f"worker{n}.log").open("w") as log:
                procs.append(subprocess.Popen([sys.executable, "-m", "atlas_core", "worker"],
                                              cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                              stderr=log))
        wait_until(lambda: len(ledger.workers()) == workers, 120, 0.2)
        time.sleep(1.0)  # every worker past its first (empty) cycle, idle
        rows = [RowRecord(i + 2, f"D{i:07d}", f"https://files.example/{i}.jpg", True)
                for i in range(documents)]
        started = time.perf_counter()
        ledger.record_upload(UploadRecord("bench.csv", "POC_CDL"), rows, chunk_size=chunk_size)
        ledger.send_signal(WORK)
        wait_until(lambda: not (lambda w: w["queued"] or w["sending"])(ledger.queued_work()))
        submit = time.perf_counter() - started
        time.sleep(1.0)  # Atlas (the sandbox) finishes every document meanwhile
        started = time.perf_counter()
        ledger.send_signal(REFRESH)
        wait_until(lambda: not _unfinished(ledger), pause=0.05)
        refresh = time.perf_counter() - started
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=120)
    return {"submit_per_s": documents / submit, "refresh_per_s": documents / refresh}


def _unfinished(ledger: Ledger) -> int:
    counts = ledger.counts_by_type_and_state()
    return sum(r["documents"] for r in counts if r["state"] not in (S.EXTRACTED, S.FAILED))


def main() -> int:
    """Run every setting --repeat times, interleaved, and print the rates and ratios."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=3000)
    parser.add_argument("--chunk-size", type=int, default=25)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    settings = [("sqlite", 1)] + [("postgresql", n) for n in counts]
    results: dict[str, list[dict[str, float]]] = {f"{e} x{n}": [] for e, n in settings}
    cluster = start_cluster()
    sandbox, url = start_sandbox(args.latency, processing=0.2)
    try:
        with tempfile.TemporaryDirectory(prefix="atlas-bench-workers-") as tmp:
            for run in range(args.repeat):
                for engine, n in settings:  # interleaved: a noisy minute hits every setting
                    folder = Path(tmp) / f"{engine}-{n}-{run}"
                    folder.mkdir()
                    location = cluster.fresh_database() if engine == "postgresql" \
                        else str(folder / "atlas.db")
                    results[f"{engine} x{n}"].append(
                        one_run(location, url, n, args.documents, args.chunk_size, folder))
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)
        cluster.remove()
    best = {k: {m: max(r[m] for r in runs) for m in ("submit_per_s", "refresh_per_s")}
            for k, runs in results.items()}
    median = {k: {m: statistics.median(r[m] for r in runs) for m in ("submit_per_s", "refresh_per_s")}
              for k, runs in results.items()}
    ratios = {
        "sqlite_over_pg_x1_submit": best["sqlite x1"]["submit_per_s"] / best["postgresql x1"]["submit_per_s"],
        "sqlite_over_pg_x1_refresh": best["sqlite x1"]["refresh_per_s"] / best["postgresql x1"]["refresh_per_s"],
    }
    for n in counts[1:]:
        for m in ("submit_per_s", "refresh_per_s"):
            ratios[f"pg_x{n}_over_x1_{m.split('_')[0]}"] = best[f"postgresql x{n}"][m] / best["postgresql x1"][m]
    if args.json:
        print(json.dumps({"best": best, "median": median, "ratios": ratios}, indent=2))
        return 0
    print(f"{args.documents} documents, {args.chunk_size} per request, sandbox latency "
          f"{args.latency * 1000:.0f} ms, best of {args.repeat} (median in brackets), os.cpu_count()="
          f"{os.cpu_count()}")
    for key in results:
        print(f"  {key:<14} submitted {best[key]['submit_per_s']:7.0f}/s "
              f"({median[key]['submit_per_s']:.0f})   refreshed {best[key]['refresh_per_s']:7.0f}/s "
              f"({median[key]['refresh_per_s']:.0f})")
    for key, value in ratios.items():
        print(f"  {key:<28} {value:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
