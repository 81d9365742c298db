"""Refreshing one big batch against in-run baselines, over a real socket to the sandbox.

    python benchmarks/bench_refresh.py [--documents 10000] [--latency 0.05] [--repeat 2]

One batch of N finished documents (200 pages of 50 for 10,000), every request delayed by
--latency seconds. The sandbox runs in its own process (``python -m atlas_core sandbox``), as Atlas
would, so its work does not share this process's GIL. Two sides:
  one-by-one  client.iter_extracts: the pages fetched one after another, nothing stored (baseline)
  parallel    client.fetch_extracts(concurrency): the pages alone, in parallel, nothing stored
  refresh     engine.refresh_batch into a fresh ledger: pages in parallel (refresh_concurrency),
              every item interpreted, each page stored (by a thread of its own) while later pages
              are still on their way, the batch's counts updated at the end
Targets: refresh at least 6x faster than one-by-one; ledger writes under 20% of refresh's time.
Writes overlap with fetching, so three figures are shown: their wall time (waits for the GIL
included), their CPU time, and what they added after the last page arrived.
Times are the best of --repeat runs per side.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

from atlas_core.client import AtlasClient, UploadItem  # noqa: E402
from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Settings  # noqa: E402
from atlas_core.engine.refreshing import refresh_batch  # noqa: E402
from atlas_core.ledger import Ledger, RowRecord, UploadRecord  # noqa: E402


class WriteClock:
    """Where a refresh's time goes, measured from outside: its ledger writes and its last page."""

    def __init__(self) -> None:
        self.wall = 0.0  # seconds in ledger writes, overlapped with fetching or not (GIL waits too)
        self.cpu = 0.0  # CPU seconds of those writes, on whichever thread made them
        self.last_page_at = 0.0  # perf_counter when the last extracts page had arrived
        self.stored_at = 0.0  # perf_counter when the batch's counts were updated
        self._lock = threading.Lock()

    def timed(self, method, *, ends_refresh: bool = False):  # type: ignore[no-untyped-def]
        """``method`` with its wall and CPU time added to the clock."""

        def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            started, cpu = time.perf_counter(), time.thread_time()
            try:
                return method(*args, **kwargs)
            finally:
                ended = time.perf_counter()
                with self._lock:
                    self.wall += ended - started
                    self.cpu += time.thread_time() - cpu
                    if ends_refresh:
                        self.stored_at = ended

        return timed

    def paged(self, method):  # type: ignore[no-untyped-def]
        """``method`` (a page fetch) noting when its answer arrived."""

        def paged(*args, **kwargs):  # type: ignore[no-untyped-def]
            try:
                return method(*args, **kwargs)
            finally:
                with self._lock:
                    self.last_page_at = max(self.last_page_at, time.perf_counter())

        return paged

    @property
    def after_last_page(self) -> float:
        """What the writes added once every page had arrived."""
        return self.stored_at - self.last_page_at


class TimedLedger(Ledger):
    """A ledger whose result writes are timed on ``clock``."""

    clock = WriteClock()

    def record_documents(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return self.clock.timed(super().record_documents)(*args, **kwargs)

    def finish_poll(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return self.clock.timed(super().finish_poll, ends_refresh=True)(*args, **kwargs)


@contextmanager
def sandbox_process(latency: float) -> Iterator[str]:
    """A sandbox in a child process; yields its URL."""
    behaviour = json.dumps({"processing_seconds": 0.0, "latency": latency})
    proc = subprocess.Popen(
        [sys.executable, "-m", "atlas_core", "sandbox", "--port", "0", "--state", "", "--behaviour", behaviour],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline()
        yield line.rsplit(" ", 1)[1].strip()
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def fresh_ledger(folder: Path, run: int, receipts: list, batch_id: str) -> Ledger:
    """A new ledger holding the batch as sent (set up outside the timed part)."""
    ledger = TimedLedger(folder / f"run{run}.db")
    rows = [RowRecord(i + 2, r.document_id, f"https://files.example/{r.document_id}.jpg", True)
            for i, r in enumerate(receipts)]
    ledger.record_upload(UploadRecord("bench.csv", "POC_CDL"), rows, chunk_size=len(rows))
    chunk = ledger.claim_chunk("bench")
    ledger.record_sent(chunk.chunk_id, [(batch_id, r.document_id, r.file_uuid) for r in receipts])
    return ledger


def main() -> None:
    """Run both sides and print times and ratios."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    concurrency = Settings().refresh_concurrency

    with sandbox_process(args.latency) as url, tempfile.TemporaryDirectory() as tmp:
        with AtlasClient(url, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET) as client:
            items = [UploadItem(f"https://files.example/scan-{i}.jpg", f"doc-{i}") for i in range(args.documents)]
            receipts = client.multiupload("POC_CDL", items)
            batch_id = receipts[0].batch_id
            baseline, ours, writes, parallel = [], [], [], []
            write_cpu, write_wait = [], []
            for run in range(args.repeat):
                started = time.perf_counter()
                count = sum(1 for _ in client.iter_extracts(batch_id))
                baseline.append(time.perf_counter() - started)
                assert count == args.documents, count

                started = time.perf_counter()
                assert len(client.fetch_extracts(batch_id, concurrency=concurrency)) == args.documents
                parallel.append(time.perf_counter() - started)

                ledger = fresh_ledger(Path(tmp), run, receipts, batch_id)
                clock = TimedLedger.clock = WriteClock()
                page_of = client.extracts_page
                client.extracts_page = clock.paged(page_of)  # type: ignore[method-assign]
                started = time.perf_counter()
                try:
                    progress = refresh_batch(ledger, client, batch_id, concurrency=concurrency,
                                             force=True)
                finally:
                    del client.extracts_page  # the class's own method again
                ours.append(time.perf_counter() - started)
                writes.append(clock.wall)
                write_cpu.append(clock.cpu)
                write_wait.append(clock.after_last_page)
                assert progress is not None and progress.extracted + progress.failed == args.documents

    best_base, best_ours = min(baseline), min(ours)
    at = ours.index(best_ours)
    pages = -(-args.documents // 50)
    print(f"{args.documents} documents, {pages} pages, latency {args.latency * 1000:.0f} ms, "
          f"concurrency {concurrency}")
    print(f"  one-by-one fetch   {best_base:7.3f} s  (runs: {', '.join(f'{t:.3f}' for t in baseline)})")
    print(f"  parallel fetch     {min(parallel):7.3f} s  (runs: {', '.join(f'{t:.3f}' for t in parallel)})")
    print(f"  refresh_batch      {best_ours:7.3f} s  (runs: {', '.join(f'{t:.3f}' for t in ours)})")
    print(f"    ledger writes: wall {writes[at]:.3f} s = {writes[at] / best_ours:.1%} (overlapped with "
          f"fetching), CPU {write_cpu[at]:.3f} s = {write_cpu[at] / best_ours:.1%}, added after the "
          f"last page {write_wait[at]:.3f} s = {write_wait[at] / best_ours:.1%}  (target < 20%)")
    print(f"  speed-up           {best_base / best_ours:7.2f}x  (target >= 6x)")
    print(f"  refresh / parallel fetch {best_ours / min(parallel):5.2f}x  (what interpreting and storing add)")


if __name__ == "__main__":
    main()
