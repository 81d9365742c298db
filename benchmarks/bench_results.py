"""Export speed and memory against an in-run baseline (a script, not a test).

    python benchmarks/bench_results.py [--documents 100000] [--xlsx-documents 20000]

Streaming ``write_documents`` (wide layout) vs the naive way: every row in a list, one pandas
DataFrame of the flattened fields (``documents_frame``), then ``to_csv``/``to_excel``. Documents
are the sandbox's realistic results for the six documented types. Every side runs in a fresh
subprocess; its peak is ru_maxrss, and the memory ratio is taken on the growth over the RSS after
imports (shown too), so the code both sides load does not flatter the ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, tempfile, time
sys.path.insert(0, sys.argv[5])
from atlas_core.results.export import documents_frame, write_documents
from atlas_core.sandbox import documents

side, fmt, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

def rows():
    for i in range(n):
        doc_id, url = f"{i:08d}", f"https://kyc.example/{i:08d}.jpg"
        result = documents.outcome_for(doc_id, url)
        if i % 1000 == 0:  # the sandbox caches outcomes; that memory is not the export's
            getattr(documents, "cached_outcome", documents.outcome_for).cache_clear()
        yield {"document_id": doc_id, "batch_id": "BATCH-1", "file_url": url, "state": result.status,
               "document_type": result.document_type, "error": result.error_message,
               "file_data": result.file_data or None}

base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
start = time.perf_counter()
if side == "streaming":
    write_documents(rows(), out, fmt=fmt)
else:
    frame = documents_frame(list(rows()))
    frame.to_csv(out, index=False, encoding="utf-8-sig") if fmt == "csv" else frame.to_excel(out, index=False)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "base_mb": base, "peak_mb": peak}))
"""


def run(side: str, fmt: str, documents: int, tmp: Path) -> dict[str, float]:
    """One side in a fresh interpreter; returns seconds, RSS after imports and peak RSS in MB."""
    out = tmp / f"{side}.{fmt}"
    args = [sys.executable, "-c", CHILD, side, fmt, str(documents), str(out), str(ROOT)]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    """Print both sides and their ratios for CSV and XLSX."""
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--xlsx-documents", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for fmt, documents in (("csv", args.documents), ("xlsx", args.xlsx_documents)):
            stream = run("streaming", fmt, documents, Path(tmp))
            naive = run("naive", fmt, documents, Path(tmp))
            print(f"{documents:,} documents, {fmt}, wide layout")
            for name, side in (("streaming write_documents", stream), ("naive pandas in memory", naive)):
                growth = side["peak_mb"] - side["base_mb"]
                print(f"  {name:<26} {side['seconds']:6.1f} s   peak {side['peak_mb']:5.0f} MB"
                      f" (+{growth:.0f} MB over {side['base_mb']:.0f} MB after imports)")
            time_ratio = stream["seconds"] / naive["seconds"]
            mem_ratio = (stream["peak_mb"] - stream["base_mb"]) / max(naive["peak_mb"] - naive["base_mb"], 1)
            print(f"  ratio streaming/naive: time {time_ratio:.2f}, memory growth {mem_ratio:.2f}")


if __name__ == "__main__":
    main()
