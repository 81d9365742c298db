"""A ledger of extracted documents for the review tests: each with its own lowest confidence."""

from __future__ import annotations

from collections.abc import Sequence

from ledger_support import record_results

from atlas_core.ledger import Interpreted, Ledger, RowRecord, UploadRecord
from atlas_core.ledger import states as S


def pan_result(doc_id: str, confidence: float, name: str = "ASHA RAO") -> Interpreted:
    """A PAN result whose name field has ``confidence`` (the lowest), with an address object."""
    file_data = {
        "document_type": "PAN",
        "name_as_per_pan": {"value": name, "confidence_score": confidence},
        "pan_number": {"value": f"ABCDE{doc_id[-4:]:0>4}F", "confidence_score": 0.99},
        "formatted_address": {"city": "Pune", "postcode": 411001, "confidence_score": 0.97},
    }
    return Interpreted(doc_id, S.EXTRACTED, "PAN", None, file_data, min(confidence, 0.97))


def extracted_upload(
    ledger: Ledger, confidences: Sequence[float], *, prefix: str = "D", batch_id: str = "B1",
    now: float = 1000.0,
) -> list[int]:
    """An upload whose documents come back extracted with these lowest confidences; their row ids."""
    ids = [f"{prefix}{i:04d}" for i in range(len(confidences))]
    rows = [RowRecord(i + 2, d, f"https://x.test/{d}.jpg", True) for i, d in enumerate(ids)]
    queued = ledger.record_upload(UploadRecord(f"{prefix}.csv", "POC_CDL"), rows, chunk_size=len(ids), now=now)
    chunk = ledger.claim_chunk("w", upload_id=queued.upload_id, now=now)
    ledger.record_sent(chunk.chunk_id, [(batch_id, d, "u") for _, d, _ in chunk.documents], now=now)
    record_results(ledger, batch_id, [pan_result(d, c) for d, c in zip(ids, confidences, strict=True)],
                   now=now + 10)
    return [row_id for row_id, _, _ in chunk.documents]
