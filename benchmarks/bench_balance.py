"""How long an upload's balance takes on a big ledger (a script, not a test).

    python benchmarks/bench_balance.py [--documents 200000] [--uploads 20] [--runs 7]

Fills a ledger through its own API with the sandbox's realistic results (file_data and all), in
--uploads uploads of equal size, batches of 100, then prints the median time of:
  page     ``upload_balances`` of the 10 newest uploads (what the Batches page asks per run)
  one      ``upload_balance`` of one upload (the Results page, the report's header)
  all      ``upload_balances`` of every upload (``status`` without --upload)
  status   ``list_uploads`` of 10 uploads, for comparison (the page's existing counts)
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ledger_fill import answer_chunk  # noqa: E402

from atlas_core.ledger import Ledger, RowRecord, UploadRecord  # noqa: E402

CHUNK = 100


def fill(path: Path, documents: int, uploads: int) -> Ledger:
    """A ledger of ``documents`` finished documents in ``uploads`` uploads."""
    ledger = Ledger(path)
    per = documents // uploads
    for u in range(uploads):
        rows = [RowRecord(i + 2, f"U{u}-{i}", f"https://bucket.s3.amazonaws.com/U{u}-{i}.jpg", True)
                for i in range(per)]
        upload = ledger.record_upload(UploadRecord(f"u{u}.csv", "POC_CDL"), rows, chunk_size=CHUNK)
        batch = 0
        while (chunk := ledger.claim_chunk("bench", upload_id=upload.upload_id)) is not None:
            batch += 1
            answer_chunk(ledger, chunk, f"B-{u}-{batch}")
    return ledger


def median_ms(run, runs: int) -> float:
    """The median wall time of ``run()`` in milliseconds."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    """Fill, then time each read."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=200_000)
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        ledger = fill(Path(tmp) / "atlas.db", args.documents, args.uploads)
        print(f"filled {args.documents:,} documents in {args.uploads} uploads"
              f" in {time.perf_counter() - started:.0f} s")
        ids = [u["id"] for u in ledger.list_uploads(limit=args.uploads)[0]]
        print(f"page   (10 uploads): {median_ms(lambda: ledger.upload_balances(ids[:10]), args.runs):8.1f} ms")
        print(f"one    (1 upload):   {median_ms(lambda: ledger.upload_balance(ids[0]), args.runs):8.1f} ms")
        print(f"all    ({len(ids)} uploads): {median_ms(lambda: ledger.upload_balances(ids), args.runs):8.1f} ms")
        print(f"status (list_uploads 10): {median_ms(lambda: ledger.list_uploads(limit=10), args.runs):8.1f} ms")
        print(ledger.upload_balance(ids[0]).sentence())


if __name__ == "__main__":
    main()
