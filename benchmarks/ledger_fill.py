"""Filling a ledger quickly for benchmarks and page tests: a sent chunk answered as the sandbox would.

No HTTP: the sandbox's own outcome for each document is recorded the way a refresh stores it,
so a 200,000-document ledger takes minutes, not an afternoon of polling.
"""

from __future__ import annotations

import uuid

from atlas_core.engine.interpreting import min_confidence
from atlas_core.ledger import ClaimedChunk, Interpreted, Ledger
from atlas_core.sandbox import documents


def answer_chunk(ledger: Ledger, chunk: ClaimedChunk, batch_id: str) -> None:
    """Record ``chunk`` as accepted in ``batch_id`` and store the sandbox's result for each document."""
    ledger.record_sent(chunk.chunk_id, [(batch_id, d, str(uuid.uuid4())) for _, d, _ in chunk.documents])
    results = []
    for _, document_id, url in chunk.documents:
        outcome = documents.outcome_for(document_id, url)
        results.append(
            Interpreted(
                document_id=document_id,
                state=outcome.status,
                document_type=outcome.document_type,
                error=outcome.error_message,
                file_data=outcome.file_data or None,
                min_confidence=min_confidence(outcome.file_data),
            )
        )
    ledger.finish_poll(batch_id, ledger.record_documents(batch_id, results))  # as a refresh does
