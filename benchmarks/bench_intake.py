"""Intake speed and memory against in-run baselines (a script, not a test).

    python benchmarks/bench_intake.py [--rows 1000000] [--xlsx-rows 100000] [--repeat 2]
                                      [--wide-rows 50000]

CSV: read_spreadsheet + validate_sheet on an N-row file vs ``pandas.read_csv(path, dtype=str)``
(targets: time <= 2x, peak memory <= 2x). XLSX: the same vs calamine's own read of the sheet
(target: time <= 1.5x). With --wide-rows, also a 40-column sheet of numbers, for information
(no target: a wide sheet is mostly cells to turn into text). Every side runs in a fresh subprocess, so each gets a cold heap and its
peak is the process's ru_maxrss; tracemalloc would miss Arrow's buffers, which live outside
Python's allocator. The memory ratio is taken on the growth over the RSS after imports (shown
too), so the ~150 MB of pandas/pyarrow code both sides load does not flatter the ratio.
Times are the best of --repeat runs per side, sides interleaved.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package


def make_rows(n: int, seed: int = 7) -> list[tuple[str, str, str]]:
    """Realistic rows: zero-padded IDs, pre-signed S3 URLs valid for a day, ~0.5% of rows bad."""
    rng = random.Random(seed)
    signed = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y%m%dT%H%M%SZ")
    sig = "".join(rng.choice("0123456789abcdef") for _ in range(64))
    rows = []
    for i in range(n):
        doc_id = f"{i:08d}"
        url = (
            f"https://kyc-docs.s3.ap-south-1.amazonaws.com/2025/11/{doc_id}.jpg?X-Amz-Algorithm="
            f"AWS4-HMAC-SHA256&X-Amz-Date={signed}&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
            f"&X-Amz-Signature={sig}"
        )
        roll = rng.random()
        if roll < 0.001:
            url = ""
        elif roll < 0.002:
            url = " " + url
        elif roll < 0.003:
            doc_id = f"{i - 1:08d}"
        elif roll < 0.004:
            url = url.replace(".jpg", ".docx")
        elif roll < 0.005:
            doc_id = "1.23457E+15"
        rows.append((doc_id, url, f"Customer {i}"))
    return rows


def write_csv(path: Path, n: int) -> None:
    """Write the N-row CSV benchmark file."""
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("document_id,file_url,customer_name\n")
        for doc_id, url, name in make_rows(n):
            fh.write(f"{doc_id},{url},{name}\n")


def write_xlsx(path: Path, n: int) -> None:
    """Write the N-row xlsx benchmark file (IDs stored as numbers, like a real Excel sheet)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("documents")
    ws.append(["document_id", "file_url", "customer_name"])
    for doc_id, url, name in make_rows(n):
        ws.append([int(doc_id) if doc_id.isdigit() else doc_id, url, name])
    wb.save(path)


def write_wide_xlsx(path: Path, n: int) -> None:
    """Write an N-row, 40-column xlsx: ID, link, and 38 columns of numbers."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("documents")
    ws.append(["document_id", "file_url"] + [f"amount_{j}" for j in range(38)])
    for (doc_id, url, _), i in zip(make_rows(n), range(n), strict=True):
        ws.append([doc_id, url] + [i * j for j in range(38)])
    wb.save(path)


def run_side(side: str, path: str) -> dict[str, float]:
    """Run one side in this process and return its time and memory."""
    import pandas as pd
    import python_calamine

    from atlas_core.intake import read_spreadsheet, validate_sheet

    rss_after_imports = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    if side == "pandas":
        frame = pd.read_csv(path, dtype=str)
        rows = len(frame)
    elif side == "calamine":
        wb = python_calamine.CalamineWorkbook.from_path(path)
        rows = len(wb.get_sheet_by_index(0).to_python()) - 1
    else:
        sheet = read_spreadsheet(path, max_bytes=10**12, max_rows=10**9)
        report = validate_sheet(sheet)
        rows = report.rows
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "rows": rows, "base_kb": rss_after_imports, "peak_kb": peak}


def measure(side: str, path: Path) -> dict[str, float]:
    """Run one side in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, __file__, "--side", side, "--file", str(path)],
        capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    if out.returncode:
        raise SystemExit(f"{side} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare(
    label: str,
    base: str,
    path: Path,
    repeat: int,
    time_target: float | None,
    mem_target: float | None,
) -> None:
    """Measure both sides ``repeat`` times, interleaved, and print both and the ratios."""
    runs: dict[str, list[dict[str, float]]] = {base: [], "intake": []}
    for _ in range(repeat):
        for side in (base, "intake"):
            runs[side].append(measure(side, path))
    best = {side: min(r, key=lambda x: x["seconds"]) for side, r in runs.items()}
    peak = {side: max(x["peak_kb"] for x in r) for side, r in runs.items()}
    growth = {side: peak[side] - min(x["base_kb"] for x in r) for side, r in runs.items()}
    b, i = best[base], best["intake"]
    ratio = i["seconds"] / b["seconds"]
    print(f"\n{label}: {path.name}, {path.stat().st_size / 1e6:.1f} MB, {i['rows']:,} rows")
    verdict = f"(target <= {time_target})  {'OK' if ratio <= time_target else 'MISSED'}" if time_target else "(no target)"
    print(f"  time   {base:<9} {b['seconds']:7.2f} s   intake (read+validate) {i['seconds']:7.2f} s   "
          f"ratio {ratio:.2f}  {verdict}")  # fmt: skip
    mem_ratio = growth["intake"] / max(growth[base], 1)
    print(f"  peak   {base:<9} {peak[base] / 1024:7.0f} MB  intake {peak['intake'] / 1024:7.0f} MB  "
          f"(growth over imports: {growth[base] / 1024:.0f} MB vs {growth['intake'] / 1024:.0f} MB, "
          f"ratio {mem_ratio:.2f}" + (f", target <= {mem_target}  {'OK' if mem_ratio <= mem_target else 'MISSED'})" if mem_target else ")"))  # fmt: skip


def main() -> None:
    """Build the files once (cached in the temp folder) and compare both benchmarks."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the CSV file")
    parser.add_argument("--xlsx-rows", type=int, default=100_000, help="rows in the xlsx file")
    parser.add_argument("--repeat", type=int, default=2, help="runs per side (best time is kept)")
    parser.add_argument("--wide-rows", type=int, default=0, help="rows in a 40-column xlsx (0: skip)")
    parser.add_argument("--side", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        print(json.dumps(run_side(args.side, args.file)))
        return
    folder = Path(tempfile.gettempdir()) / "atlas-bench-intake"
    folder.mkdir(exist_ok=True)
    csv_path = folder / f"rows-{args.rows}.csv"
    xlsx_path = folder / f"rows-{args.xlsx_rows}.xlsx"
    if not csv_path.exists():
        write_csv(csv_path, args.rows)
    if not xlsx_path.exists():
        write_xlsx(xlsx_path, args.xlsx_rows)
    compare("CSV", "pandas", csv_path, args.repeat, 2.0, 2.0)
    compare("XLSX", "calamine", xlsx_path, args.repeat, 1.5, None)
    if args.wide_rows:
        wide_path = folder / f"wide-{args.wide_rows}.xlsx"
        if not wide_path.exists():
            write_wide_xlsx(wide_path, args.wide_rows)
        compare("XLSX, 40 columns", "calamine", wide_path, args.repeat, None, None)


if __name__ == "__main__":
    main()
