"""Dashboard page speed on a large ledger against a small one, in the same run (a script, not a test).

    python benchmarks/bench_pages.py [--documents 50000] [--runs 5]

Pages query only what they show (aggregates and one page of rows in SQL), so rendering Batches
or Results should cost about the same whether the ledger holds a few hundred documents or tens of
thousands. Both ledgers are filled through the ledger's own API with the sandbox's realistic
results; each page is rendered with AppTest (the whole script run, widgets and all) and the
median of ``--runs`` renders is printed for both sides with the ratio large/small.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from atlas_core.engine.interpreting import min_confidence  # noqa: E402
from atlas_core.ledger import Interpreted, Ledger, RowRecord, UploadRecord  # noqa: E402
from atlas_core.sandbox import documents  # noqa: E402

SMALL = 300
CHUNK = 100
PAGES = {
    "Upload": "app_pages/upload.py",
    "Batches": "app_pages/batches.py",
    "Results": "app_pages/results.py",
    "Connection": "app_pages/connection.py",
}


def fill(path: Path, n: int, uploads: int = 10) -> None:
    """A ledger with ``n`` finished documents spread over ``uploads`` uploads of 100-document batches."""
    ledger = Ledger(path)
    per_upload = n // uploads
    for u in range(uploads):
        rows = [
            RowRecord(
                i + 2,
                f"U{u}-{i:07d}",
                f"https://kyc.example/U{u}-{i:07d}.jpg",
                True,
                original={
                    "document_id": f"U{u}-{i:07d}",
                    "file_url": f"https://kyc.example/U{u}-{i:07d}.jpg",
                },
            )
            for i in range(per_upload)
        ]
        ledger.record_upload(
            UploadRecord(
                f"upload-{u}.csv",
                "POC_CDL",
                submitted_by="bench",
                columns=("document_id", "file_url"),
            ),
            rows,
            chunk_size=CHUNK,
        )
    while (chunk := ledger.claim_chunk("bench")) is not None:
        batch_id = f"BATCH-{chunk.chunk_id:06d}"
        ledger.record_sent(
            chunk.chunk_id, [(batch_id, d, str(uuid.uuid4())) for _, d, _ in chunk.documents]
        )
        results = []
        for _, doc_id, url in chunk.documents:
            outcome = documents.outcome_for(doc_id, url)
            results.append(
                Interpreted(
                    document_id=doc_id,
                    state=outcome.status,
                    document_type=outcome.document_type,
                    error=outcome.error_message,
                    file_data=outcome.file_data or None,
                    min_confidence=min_confidence(outcome.file_data),
                )
            )
        ledger.record_results(batch_id, results)


def render_times(db: Path, workdir: Path, runs: int) -> dict[str, float]:
    """Median seconds of a full AppTest run of each page on the ledger at ``db``."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    os.environ["ATLAS_DB_PATH"] = str(db)
    os.environ["ATLAS_SANDBOX_STATE_PATH"] = str(workdir / "sandbox.jsonl")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.secrets["atlas"] = {"product_types": "POC_CDL"}
    at.run()
    out = {}
    for title, path in PAGES.items():
        at.switch_page(path).run()  # warm: the runtime is opened once per process
        assert not at.exception, [e.value for e in at.exception]
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - start)
        out[title] = statistics.median(times)
    st.cache_resource.clear()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        sides = {}
        for name, n in (("small", SMALL), ("large", args.documents)):
            start = time.perf_counter()
            fill(tmp_path / f"{name}.db", n)
            print(
                f"filled the {name} ledger with {n:,} documents in {time.perf_counter() - start:.1f} s"
            )
            sides[name] = render_times(tmp_path / f"{name}.db", tmp_path, args.runs)
    print(f"\n{'page':<12}{'small (ms)':>12}{'large (ms)':>12}{'large/small':>13}")
    for title in PAGES:
        small, large = sides["small"][title] * 1000, sides["large"][title] * 1000
        print(f"{title:<12}{small:>12.0f}{large:>12.0f}{large / small:>13.2f}")


if __name__ == "__main__":
    main()
