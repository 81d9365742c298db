"""Exports of a 200,000-document upload against pandas, in the same run (a script, not a test).

    python benchmarks/bench_export.py [--documents 200000] [--runs 3] [--ledger PATH] [--writers]

One upload of --documents rows (chunks of 1,000) is filled through the ledger's own API with the
sandbox's realistic results for the six documented types (``fill``; --ledger keeps the file for
the next run). Then, each side in a fresh interpreter, --runs times:
  pandas          the exported frame (``documents_frame`` of every row, built untimed), then
                  ``DataFrame.to_csv`` of it: the time of that write alone is the baseline
  csv             the upload's wide CSV download (``downloads.write_filtered``): the sheet's
                  columns carried, results, fields, links, streamed from ``Ledger.iter_documents``
  xlsx            the same as Excel (with one extra sheet per document type)
  sheet           the upload's "my sheet with results" CSV (``downloads.write_upload_sheet``)
  reconciliation  ``reconcile(...).exceptions_csv()`` of the upload
  failed          ``failed_documents_file`` of the upload
Targets: csv / pandas at most 2.0 (200,000 documents) and sheet / csv at most 2.0 (100,000 rows:
``--documents 100000 --sides csv,sheet``), with the ratios taken within one run.
Memory: peak RSS growth over the RSS after imports (ru_maxrss, so each side needs its own
process); the pandas side's growth is the frame's, which the streamed export must stay well below.
CPU seconds (this process) are shown and compared too: on a shared machine they move less than
wall time. The XLSX writer works in this thread, so its CPU time is all counted.
--writers also times bare XLSX writers over the same table (openpyxl write-only, xlsxwriter
constant_memory, rustpy-xlsxwriter), the evidence for the writer the export uses; it needs
xlsxwriter, which the product does not (`pip install xlsxwriter==3.3.1`).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing the package

CHUNK = 1000
SHEET_COLUMNS = ("Applicant Ref", "Applicant Name", "Branch", "Document Link")

CHILD = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[4])
side, db, out = sys.argv[1], sys.argv[2], sys.argv[3]
from atlas_core.ledger import Ledger
from atlas_core.ledger.targets import SANDBOX_TARGET
from atlas_core.results import documents_frame, failed_documents_file, reconcile
from atlas_core.results.downloads import DocumentFilters, sheet_columns, write_filtered, write_upload_sheet
import pandas  # loaded on every side, so the RSS after imports compares like with like

ledger = Ledger(db, target=SANDBOX_TARGET)
upload_id = ledger.list_uploads()[0][0]["id"]
rows = lambda **kw: ledger.iter_documents(upload_id=upload_id, **kw)
extra = {}

def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

base = rss()  # before the frame: the pandas side's growth is the frame's
if side == "pandas":
    start = time.perf_counter()
    # the frame the wide download holds: the sheet's columns carried, results, fields, links
    frame = documents_frame(rows(with_sheet=True), sheet=sheet_columns(ledger, upload_id))
    extra["frame_seconds"] = time.perf_counter() - start
    extra["shape"] = list(frame.shape)
start, cpu = time.perf_counter(), time.process_time()
if side == "pandas":
    frame.to_csv(out, index=False, encoding="utf-8-sig")
elif side in ("csv", "xlsx"):
    extra["rows"] = write_filtered(ledger, DocumentFilters(upload_id=upload_id), out, fmt=side)
elif side == "sheet":
    extra["rows"] = write_upload_sheet(ledger, upload_id, out, fmt="csv")
elif side == "reconciliation":
    data = reconcile(ledger.iter_upload_rows(upload_id), rows(include_superseded=True)).exceptions_csv()
    open(out, "wb").write(data)
elif side == "failed":
    data = failed_documents_file(ledger.iter_upload_rows(upload_id), rows(include_superseded=True))
    open(out, "wb").write(data)
elif side.startswith("writer:"):
    from atlas_core.results.export import wide_table
    from atlas_core.neutralise import xlsx_cell
    table = [[xlsx_cell(c) for c in line] for line in wide_table(rows())]
    base = rss()
    start, cpu = time.perf_counter(), time.process_time()
    name = side.split(":", 1)[1]
    if name == "openpyxl":
        from openpyxl import Workbook
        book = Workbook(write_only=True)
        sheet = book.create_sheet("documents")
        for line in table:
            sheet.append(line)
        book.save(out)
    elif name == "xlsxwriter":
        import xlsxwriter
        book = xlsxwriter.Workbook(out, {"constant_memory": True})
        sheet = book.add_worksheet("documents")
        for r, line in enumerate(table):
            for c, value in enumerate(line):
                if value is None:
                    continue
                if isinstance(value, str):
                    sheet.write_string(r, c, value)
                else:
                    sheet.write_number(r, c, value)
        book.close()
    elif name == "rustpy":
        import rustpy_xlsxwriter
        header = table[0]
        rustpy_xlsxwriter.write_worksheet(
            (dict(zip(header, line)) for line in table[1:]), out, sheet_name="documents"
        )
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "cpu": cpu, "base_mb": base, "peak_mb": rss(), **extra}))
"""


def fill(path: Path, n: int) -> None:
    """A ledger holding one upload of ``n`` documents, sent in chunks of 1,000 and finished."""
    from ledger_fill import answer_chunk

    from atlas_core.ledger import Ledger, RowRecord, UploadRecord
    from atlas_core.ledger.targets import SANDBOX_TARGET
    from atlas_core.sandbox import documents

    ledger = Ledger(path, target=SANDBOX_TARGET)
    rows = []
    branches = ("Mumbai Central", "Pune East", "Chennai North", "Kolkata Salt Lake")
    for i in range(n):
        doc_id, url = f"D{i:08d}", f"https://kyc.example/D{i:08d}.jpg"
        # an analyst's sheet: the ID and link columns among a few of their own
        original = {"Applicant Ref": doc_id, "Applicant Name": f"Applicant {i}",
                    "Branch": branches[i % len(branches)], "Document Link": url}
        rows.append(RowRecord(i + 2, doc_id, url, True, original=original))
    upload = UploadRecord("bench.csv", "POC_CDL", submitted_by="bench", url_column="Document Link",
                          id_column="Applicant Ref", columns=SHEET_COLUMNS)
    ledger.record_upload(upload, rows, chunk_size=CHUNK)
    while (chunk := ledger.claim_chunk("bench")) is not None:
        answer_chunk(ledger, chunk, f"BATCH-{chunk.chunk_id:06d}")
        cache_clear = getattr(getattr(documents, "cached_outcome", None), "cache_clear", None)
        if cache_clear:  # the sandbox caches outcomes; the filler need not keep them
            cache_clear()
    ledger.close()


def run(side: str, db: Path, tmp: Path) -> dict[str, float]:
    """One side in a fresh interpreter: seconds, RSS after imports and peak RSS in MB."""
    out = tmp / f"{side.replace(':', '-')}.{'xlsx' if side == 'xlsx' or ':' in side else 'csv'}"
    args = [sys.executable, "-c", CHILD, side, str(db), str(out), str(ROOT)]
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"{side} failed:\n{done.stderr}")
    result = json.loads(done.stdout)
    result["bytes"] = out.stat().st_size
    return result


def show(name: str, side: dict[str, float]) -> None:
    """One line: seconds, peak RSS and its growth over the RSS after imports."""
    growth = side["peak_mb"] - side["base_mb"]
    print(f"  {name:<16} {side['seconds']:6.2f} s  cpu {side['cpu']:6.2f} s   peak {side['peak_mb']:5.0f} MB"
          f" (+{growth:4.0f} MB)   {side['bytes'] / 1e6:6.1f} MB file")


def main() -> None:
    """Fill (or reuse) the ledger, run every side --runs times, print the ratios per run."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--ledger", type=Path, help="keep the filled ledger here (reused if it exists)")
    parser.add_argument("--writers", action="store_true", help="also time bare XLSX writers")
    parser.add_argument("--sides", default="pandas,csv,sheet,xlsx,reconciliation,failed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = args.ledger or Path(tmp) / "ledger.db"
        if not db.exists():
            import time

            start = time.perf_counter()
            fill(db, args.documents)
            print(f"filled {args.documents:,} documents in {time.perf_counter() - start:.1f} s")
        sides = args.sides.split(",")
        if args.writers:
            sides += ["writer:openpyxl", "writer:xlsxwriter", "writer:rustpy"]
        ratios: dict[str, list[float]] = {
            "csv/pandas": [], "xlsx/csv": [], "cpu csv/pandas": [], "cpu xlsx/csv": [], "csv/pandas memory": [],
            "sheet/csv": [], "cpu sheet/csv": [],
        }
        for n in range(args.runs):
            print(f"run {n + 1}")
            results = {side: run(side, db, Path(tmp)) for side in sides}
            for side, result in results.items():
                show(side, result)
            if "pandas" in results:
                p = results["pandas"]
                print(f"  (pandas frame {p['shape'][0]:,} x {p['shape'][1]} built in {p['frame_seconds']:.1f} s,"
                      " not timed)")
            if {"pandas", "csv"} <= results.keys():
                ratios["csv/pandas"].append(results["csv"]["seconds"] / results["pandas"]["seconds"])
                ratios["cpu csv/pandas"].append(results["csv"]["cpu"] / results["pandas"]["cpu"])
                growth = {s: results[s]["peak_mb"] - results[s]["base_mb"] for s in ("csv", "pandas")}
                ratios["csv/pandas memory"].append(growth["csv"] / max(growth["pandas"], 1))
            if {"csv", "sheet"} <= results.keys():
                ratios["sheet/csv"].append(results["sheet"]["seconds"] / results["csv"]["seconds"])
                ratios["cpu sheet/csv"].append(results["sheet"]["cpu"] / results["csv"]["cpu"])
            if {"csv", "xlsx"} <= results.keys():
                ratios["xlsx/csv"].append(results["xlsx"]["seconds"] / results["csv"]["seconds"])
                ratios["cpu xlsx/csv"].append(results["xlsx"]["cpu"] / results["csv"]["cpu"])
            print("  " + "   ".join(f"{k} {v[-1]:.2f}" for k, v in ratios.items() if v))
        print("median of runs: " + "   ".join(
            f"{k} {statistics.median(v):.2f}" for k, v in ratios.items() if v
        ) + "   (targets: csv/pandas <= 2.0, sheet/csv <= 2.0)")


if __name__ == "__main__":
    main()
