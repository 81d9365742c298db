"""Submitting 10,000 documents against the ideal, over a real socket to the sandbox.

    python benchmarks/bench_submit.py [--documents 10000] [--latency 0.05] [--repeat 2]

The sandbox runs in its own process with every request delayed by --latency seconds. The
documents are recorded in a fresh ledger (timed apart), then ``send_queued`` sends them in chunks
of Settings.chunk_size with Settings.submit_concurrency lanes, recording every answer.
  ideal       requests / concurrency x latency (the network wait alone)
  client      the same requests from as many threads, no ledger (client + sandbox cost)
  measured    send_queued, claim + request + record for every chunk
Target: measured within 1.3x of the ideal; measured / client shows what the ledger adds.
Times are the best of --repeat runs; the median of the runs is shown too (a shared VM is noisy).
"""

from __future__ import annotations

import argparse
import math
import statistics
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


def main() -> None:
    """Run the measured side, compute the ideal, print both and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
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
