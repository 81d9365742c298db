"""The page queries' counts are ints on both engines (PostgreSQL's sum of a count is numeric).

Found at 1,000,000 documents on PostgreSQL (benchmarks/bench_pg_pages.py): the Results page
crashed on ``st.number_input(..., max_value=pages)`` as its page count came back a Decimal.
"""

from __future__ import annotations

import sys
from pathlib import Path

from test_engine_worker import queue

from atlas_core.ledger import Ledger

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from ledger_fill import answer_chunk  # noqa: E402


def filled(location: str) -> Ledger:
    """A ledger with one answered upload of six documents."""
    ledger = Ledger(location)
    queue(ledger, [f"T{i}" for i in range(6)], chunk_size=3)
    while (chunk := ledger.claim_chunk("w")) is not None:
        answer_chunk(ledger, chunk, f"BATCH-{chunk.chunk_id}")
    return ledger


def test_counts_by_type_and_state_are_ints(ledger_location):
    rows = filled(ledger_location).counts_by_type_and_state()
    assert sum(r["documents"] for r in rows) == 6
    assert all(type(r["documents"]) is int for r in rows), [type(r["documents"]) for r in rows]


def test_finished_over_time_counts_are_ints(ledger_location):
    buckets = filled(ledger_location).finished_over_time()
    assert sum(b["extracted"] + b["failed"] for b in buckets) == 6
    assert all(type(b["extracted"]) is int and type(b["failed"]) is int for b in buckets)


def test_the_documents_page_total_is_an_int(ledger_location):
    _, total = filled(ledger_location).documents_page()
    assert total == 6 and type(total) is int, type(total)
