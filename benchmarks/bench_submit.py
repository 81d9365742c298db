"""Submitting 10,000 documents against the ideal, over a real socket to the sandbox.

    python benchmarks/bench_submit.py [--documents 10000] [--latency 0.05] [--repeat 2]
    python benchmarks/bench_submit.py --sheet-rows 200000 [--chunk-size 1000] [--repeat 3]

The sandbox runs in its own process with every request delayed by --latency seconds. The
documents are recorded in a fresh ledger (timed apart), then ``send_queued`` sends them in chunks
of Settings.chunk_size with Settings.submit_concurrency lanes, recording every answer.
  ideal       requests / concurrency x latency (the network wait alone)
  client      the same requests from as many threads, no ledger (client + sandbox cost)
  measured    send_queued, claim + request + record for every chunk
Target: measured within 1.3x of the ideal; measured / client shows what the ledger adds.
Times are the best of --repeat runs; the median of the runs is shown too (a shared VM is noisy).

With --sheet-rows N, the whole command instead: ``validate FILE`` and ``submit FILE`` of an N-row
CSV (bench_intake's rows, ~0.5% bad), each in a fresh ``python -m atlas_core`` process, sides
interleaved, submit to a fresh ledger and to the sandbox process at --latency. Each process's
peak is its ru_maxrss (from wait4: Arrow's buffers and SQLite's pages count, which tracemalloc
would miss), its time the wall clock from start to exit (imports included on both sides).
  memory      submit peak / validate peak                      target <= 1.5x
  time        (submit - validate) / ideal, i.e. what submit adds to validate against the
              network wait alone                                target <= 1.3x
  ideal       ceil(requests / concurrency) x latency, requests = ceil(valid rows / chunk)
  floor       the same requests from as many threads with no ledger: what the client and the
              sandbox (a Python process on the same cores, unlike Atlas) cost by themselves
  cpu         the CPU seconds submit's process adds to validate's: the code's cost whatever
              else the machine is running

With --sheet-rows N --phases, the steps of ``submit`` instead run in this process, one after the
other as the command runs them, each with its wall and CPU seconds (CPU of every thread): read +
validate, plan, record the upload (one transaction), send (claim, request, record per chunk).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_refresh import sandbox_process  # noqa: E402

from atlas_core.client import AtlasClient, UploadItem  # noqa: E402
from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Settings  # noqa: E402
from atlas_core.engine.submitting import send_queued  # noqa: E402
from atlas_core.ledger import Ledger, RowRecord, UploadRecord  # noqa: E402


def run_command(argv: list[str], env: dict[str, str]) -> dict[str, float]:
    """Run ``python -m atlas_core ARGV`` in a fresh process: wall seconds, peak RSS and exit code."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "atlas_core", *argv], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    out = proc.stdout.read() if proc.stdout else b""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime, "peak_mb": usage.ru_maxrss / 1024,
            "code": proc.returncode, "out": out.decode("utf-8", "replace")}


def bare_client(url: str, documents: int, chunk: int, lanes: int) -> float:
    """Seconds to send ``documents`` in requests of ``chunk`` from ``lanes`` threads, no ledger."""
    chunks = [[UploadItem(f"https://files.example/bare/{i}.jpg", f"bare-{i}")
               for i in range(start, min(start + chunk, documents))]
              for start in range(0, documents, chunk)]
    with AtlasClient(url, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET) as client:
        client.authenticate()
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=lanes) as pool:
            list(pool.map(lambda items: client.multiupload("POC_CDL", items), chunks))
        return time.perf_counter() - started


def sheet_main(args: argparse.Namespace) -> None:
    """validate vs submit of one N-row CSV, each a fresh process: the memory and time ratios."""
    from bench_intake import write_csv

    settings = Settings()
    chunk, lanes = args.chunk_size, settings.submit_concurrency
    folder = Path(tempfile.gettempdir()) / "atlas-bench-submit"
    folder.mkdir(exist_ok=True)
    path = folder / f"rows-{args.sheet_rows}.csv"
    if not path.exists():
        write_csv(path, args.sheet_rows)
    runs: dict[str, list[dict[str, float]]] = {"validate": [], "submit": []}
    with sandbox_process(args.latency) as url, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "ATLAS_MAX_FILE_MB": str(path.stat().st_size // 2**20 + 10),
               "ATLAS_CHUNK_SIZE": str(chunk), "ATLAS_BASE_URL": url,
               "ATLAS_CLIENT_ID": SANDBOX_CLIENT_ID, "ATLAS_CLIENT_SECRET": SANDBOX_CLIENT_SECRET}
        for run in range(args.repeat):
            env["ATLAS_DB_PATH"] = str(Path(tmp) / f"run{run}.db")
            runs["validate"].append(run_command(["validate", str(path), "--json"], env))
            runs["submit"].append(run_command(["submit", str(path), "--product-type", "POC_CDL",
                                               "--json"], env))
            for side, result in runs.items():
                if result[-1]["code"] not in (0, 6):  # done, or done with some uncertain
                    raise SystemExit(f"{side} exited {result[-1]['code']}")
        client_only = bare_client(url, json.loads(runs["submit"][0]["out"])["submitted"], chunk, lanes)
    valid = json.loads(runs["validate"][0]["out"])["valid"]
    sent = json.loads(runs["submit"][0]["out"])
    requests_needed = math.ceil(sent["submitted"] / chunk)
    ideal = math.ceil(requests_needed / lanes) * args.latency
    print(f"{args.sheet_rows:,} rows ({valid:,} valid, {sent['submitted']:,} sent), {requests_needed} requests "
          f"of {chunk}, {lanes} lanes, latency {args.latency * 1000:.0f} ms; ideal {ideal:.2f} s")
    print(f"  {'run':<5}{'validate':>10}{'submit':>10}{'(s-v)/ideal':>13}{'validate':>11}{'submit':>9}"
          f"{'ratio':>7}{'cpu v':>8}{'cpu s':>8}")
    for run, (v, s) in enumerate(zip(runs["validate"], runs["submit"], strict=True), 1):
        print(f"  {run:<5}{v['seconds']:9.2f}s{s['seconds']:9.2f}s{(s['seconds'] - v['seconds']) / ideal:12.2f}x"
              f"{v['peak_mb']:8.0f} MB{s['peak_mb']:6.0f} MB{s['peak_mb'] / v['peak_mb']:6.2f}x"
              f"{v['cpu']:7.2f}s{s['cpu']:7.2f}s")
    v_best = min(r["seconds"] for r in runs["validate"])
    s_best = min(r["seconds"] for r in runs["submit"])
    time_ratio = (s_best - v_best) / ideal
    mem_ratio = max(r["peak_mb"] for r in runs["submit"]) / max(r["peak_mb"] for r in runs["validate"])
    print(f"  time    best submit {s_best:.2f} s = validate {v_best:.2f} s + {time_ratio:.2f}x ideal "
          f"(target <= 1.3x: {'OK' if time_ratio <= 1.3 else 'MISSED'}); "
          f"submit / (validate + ideal) {s_best / (v_best + ideal):.2f}x")
    print(f"  floor   the same requests from {lanes} threads, no ledger: {client_only:.2f} s "
          f"({client_only / ideal:.2f}x ideal: what this machine's sandbox and client cost alone)")
    # On a shared machine the wall clock waits for cores too: the CPU submit adds over validate
    # (this process only; the sandbox's is apart) shows what the code costs whatever the load.
    cpu_added = min(r["cpu"] for r in runs["submit"]) - min(r["cpu"] for r in runs["validate"])
    print(f"  cpu     submit adds {cpu_added:.2f} s of CPU to validate's (best runs; {cpu_added / ideal:.2f}x "
          f"ideal); the machine's load when it ended: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"  memory  submit peak / validate peak {mem_ratio:.2f}x (worst runs; target <= 1.5x: "
          f"{'OK' if mem_ratio <= 1.5 else 'MISSED'})")


def phases_main(args: argparse.Namespace) -> None:
    """The steps of ``submit FILE`` in this process, each timed: where the time above goes."""
    from bench_intake import write_csv

    from atlas_core.cli import jobs
    from atlas_core.engine import plan_upload, queue_upload
    from atlas_core.intake import read_spreadsheet, validate_sheet

    folder = Path(tempfile.gettempdir()) / "atlas-bench-submit"
    folder.mkdir(exist_ok=True)
    path = folder / f"rows-{args.sheet_rows}.csv"
    if not path.exists():
        write_csv(path, args.sheet_rows)
    with sandbox_process(args.latency) as url, tempfile.TemporaryDirectory() as tmp:
        for run in range(args.repeat):
            os.environ.update({
                "ATLAS_MAX_FILE_MB": str(path.stat().st_size // 2**20 + 10),
                "ATLAS_CHUNK_SIZE": str(args.chunk_size), "ATLAS_BASE_URL": url,
                "ATLAS_CLIENT_ID": SANDBOX_CLIENT_ID, "ATLAS_CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
                "ATLAS_DB_PATH": str(Path(tmp) / f"phases{run}.db"),
            })
            marks: list[tuple[str, float, float]] = [("", time.perf_counter(), time.process_time())]

            def mark(name: str) -> None:
                marks.append((name, time.perf_counter(), time.process_time()))  # noqa: B023

            with jobs.runtime_for(argparse.Namespace(chunk_size=None)) as runtime:
                settings, ledger = runtime.settings, runtime.ledger
                sheet = read_spreadsheet(path, sheet=None, max_bytes=settings.max_file_mb * 2**20,
                                         max_rows=settings.max_rows)
                report = validate_sheet(sheet, url_column=None, id_column=None, known_ids=ledger.known_ids)
                mark("read + validate")
                plan = plan_upload(ledger, sheet, report, product_type="POC_CDL",
                                   chunk_size=settings.chunk_size)
                mark("plan")
                queued = queue_upload(ledger, plan)
                mark("record the upload")
                del sheet, report, plan
                summary, stopped = jobs._send_stopping(runtime, upload_id=queued.upload_id,
                                                       total=queued.queued, max_wait=600)
                mark("send")
            if stopped is not None or summary.documents_sent != queued.queued:
                raise SystemExit(f"sent {summary.documents_sent} of {queued.queued}: {stopped}")
            requests_needed = math.ceil(queued.queued / args.chunk_size)
            ideal = math.ceil(requests_needed / settings.submit_concurrency) * args.latency
            print(f"run {run + 1}: {queued.queued:,} documents in {requests_needed} requests, "
                  f"{settings.submit_concurrency} lanes, ideal send {ideal:.2f} s; "
                  f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
            for (_, wall0, cpu0), (name, wall1, cpu1) in zip(marks, marks[1:], strict=False):
                print(f"  {name:<18}{wall1 - wall0:7.2f} s wall {cpu1 - cpu0:7.2f} s CPU"
                      + (f"  ({(wall1 - wall0) / ideal:.2f}x ideal)" if name == "send" else ""))


def main() -> None:
    """Run the measured side, compute the ideal, print both and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--sheet-rows", type=int, default=0, help="compare validate and submit of a CSV")
    parser.add_argument("--chunk-size", type=int, default=1000, help="with --sheet-rows")
    parser.add_argument("--phases", action="store_true", help="with --sheet-rows: time submit's steps")
    args = parser.parse_args()
    if args.sheet_rows and args.phases:
        phases_main(args)
        return
    if args.sheet_rows:
        sheet_main(args)
        return
    settings = Settings()
    chunk, lanes = settings.chunk_size, settings.submit_concurrency
    requests_needed = math.ceil(args.documents / chunk)
    ideal = math.ceil(requests_needed / lanes) * args.latency

    measured, recording, client_only = [], [], []
    with sandbox_process(args.latency) as url, tempfile.TemporaryDirectory() as tmp:
        with AtlasClient(url, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET) as client:
            client.authenticate()  # the token is not part of submitting
            for run in range(args.repeat):
                ledger = Ledger(Path(tmp) / f"run{run}.db")
                rows = [RowRecord(i + 2, f"r{run}-doc-{i}", f"https://files.example/{run}/{i}.jpg", True)
                        for i in range(args.documents)]
                started = time.perf_counter()
                ledger.record_upload(UploadRecord("bench.csv", "POC_CDL"), rows, chunk_size=chunk)
                recording.append(time.perf_counter() - started)
                started = time.perf_counter()
                summary = send_queued(ledger, client, worker_id="bench", concurrency=lanes)
                measured.append(time.perf_counter() - started)
                assert summary.documents_sent == args.documents, summary

                chunks = [[UploadItem(f"https://files.example/c{run}/{i}.jpg", f"c{run}-doc-{i}")
                           for i in range(start, min(start + chunk, args.documents))]
                          for start in range(0, args.documents, chunk)]
                started = time.perf_counter()
                with ThreadPoolExecutor(max_workers=lanes) as pool:
                    list(pool.map(lambda items: client.multiupload("POC_CDL", items), chunks))
                client_only.append(time.perf_counter() - started)

    best = min(measured)
    print(f"{args.documents} documents, {requests_needed} requests of {chunk}, {lanes} lanes, "
          f"latency {args.latency * 1000:.0f} ms")
    print(f"  recording the upload  {min(recording):7.3f} s  (before sending; not part of the ratio)")
    print(f"  ideal                 {ideal:7.3f} s  (requests / concurrency x latency)")
    print(f"  client, no ledger     {min(client_only):7.3f} s  (runs: {', '.join(f'{t:.3f}' for t in client_only)})")
    print(f"  send_queued           {best:7.3f} s  (runs: {', '.join(f'{t:.3f}' for t in measured)})")
    median, client_median = statistics.median(measured), statistics.median(client_only)
    print(f"  ratio to ideal        {best / ideal:7.2f}x  (target <= 1.3x; median {median / ideal:.2f}x,"
          f" client alone {min(client_only) / ideal:.2f}x)")
    print(f"  ratio to client only  {best / min(client_only):7.2f}x  (what claiming and recording add;"
          f" median {median / client_median:.2f}x)")


if __name__ == "__main__":
    main()
