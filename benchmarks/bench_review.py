"""Review queue speed at scale (a script, not a test): the next document at 100,000 documents.

    python benchmarks/bench_review.py [--documents 100000] [--runs 50] [--keep PATH]

Fills a ledger with --documents finished documents (the sandbox's realistic results, through the
ledger's own API, as bench_pages does), then times, with the sandbox's mix of confidences and
the default policy (threshold 0.8, 2% sample):
  first claim    the first claim on a ledger nobody reviewed yet (the queue is chosen once)
  new rule       a claim under another threshold, then the first again (the queue chosen again)
  claim          claim_next_review with the queue up to date (the page's "next document")
  decide         decide_review with one correction
  counts         review_counts (to review, done today, by whom)
and prints the median and the slowest of --runs. The target: the next document in under 300 ms.
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

from bench_pages import fill  # noqa: E402

from atlas_core.ledger import Ledger  # noqa: E402
from atlas_core.ledger.targets import SANDBOX_TARGET  # noqa: E402
from atlas_core.review.queue import ReviewPolicy  # noqa: E402


def _ms(seconds: list[float]) -> str:
    return f"median {statistics.median(seconds) * 1000:7.1f} ms   slowest {max(seconds) * 1000:7.1f} ms"


def main() -> None:
    """Fill (or reuse) a ledger and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--keep", type=Path, help="fill this ledger once and reuse it on later runs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = args.keep or Path(folder) / "atlas.db"
        if not path.exists():
            started = time.perf_counter()
            fill(path, args.documents)
            print(f"filled {args.documents:,} documents in {time.perf_counter() - started:.0f} s")
        ledger = Ledger(path, target=SANDBOX_TARGET)
        policy = ReviewPolicy()
        started = time.perf_counter()
        first = ledger.claim_next_review("bench-0", policy)
        print(f"first claim         {(time.perf_counter() - started) * 1000:7.1f} ms"
              " (the whole queue chosen, on a ledger nobody reviewed yet)")
        for other in (ReviewPolicy(threshold=0.7), policy):  # a changed rule chooses the queue again
            started = time.perf_counter()
            first = ledger.claim_next_review("bench-0", other)
            print(f"new rule + claim    {(time.perf_counter() - started) * 1000:7.1f} ms"
                  f" (threshold {other.threshold})")
        counts = ledger.review_counts(policy)
        print(f"queue: {counts.to_review:,} to review of {args.documents:,} documents")
        claims, decisions, reads = [], [], []
        item = first
        for n in range(args.runs):
            assert item is not None
            field = item.fields[0].name if item.fields else None
            started = time.perf_counter()
            ledger.decide_review(item.document, "bench-0", "correct", {field: f"fixed {n}"} if field else None)
            decisions.append(time.perf_counter() - started)
            started = time.perf_counter()
            item = ledger.claim_next_review("bench-0", policy)
            claims.append(time.perf_counter() - started)
            started = time.perf_counter()
            ledger.review_counts(policy)
            reads.append(time.perf_counter() - started)
        print(f"claim (next)        {_ms(claims)}")
        print(f"decide              {_ms(decisions)}")
        print(f"counts              {_ms(reads)}")
        ledger.close()


if __name__ == "__main__":
    main()
