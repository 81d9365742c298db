"""Ledger helpers only tests need: storing results as a refresh does, and reading chunks back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from atlas_core.ledger import BatchProgress, Interpreted, Ledger


def record_results(
    ledger: Ledger,
    batch_id: str,
    results: Sequence[Interpreted],
    *,
    total_items_reported: int | None = None,
    keep_open: bool = False,
    now: float | None = None,
) -> BatchProgress:
    """Store a poll's results the way a refresh does: the documents, then the batch's counts."""
    changed = ledger.record_documents(batch_id, results, now=now)
    return ledger.finish_poll(batch_id, changed, total_items_reported=total_items_reported,
                              keep_open=keep_open, now=now)


def chunks_of_upload(ledger: Ledger, upload_id: int) -> list[dict[str, Any]]:
    """Every chunk of an upload with its state, batch and error, read straight from the ledger."""
    with ledger.reading() as db:  # either engine: the ledger's own read snapshot
        return [dict(r) for r in db.execute(
            "SELECT * FROM chunks WHERE upload_id = ? ORDER BY sequence", [upload_id]
        )]
