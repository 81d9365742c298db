"""A ledger as a working day leaves it (no tests here): several uploads, submitters and states.

Filled through the ledger's own API (no network): each upload's chunks are sent as batches and
answered with the sandbox's realistic results; one upload's last request is left uncertain with
the raw transport error the client records, and one upload stays queued. Used by the AppTest
pages at scale and by the accessibility audit in real Chromium.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from atlas_core.engine.interpreting import min_confidence
from atlas_core.ledger import Interpreted, Ledger, RowRecord, UploadRecord
from atlas_core.ledger.targets import SANDBOX_TARGET
from atlas_core.sandbox import documents

# (file name, submitter, documents): one upload far larger than the rest, as in a real day.
UPLOADS = (
    ("branch-north.csv", "Asha", 40),
    ("branch-south.xlsx", "Ravi", 1_200),
    ("pilot-east.csv", "Asha", 30),
    ("late-west.csv", "Meena", 20),
)
CHUNK = 10
RAW_ERROR = (
    "POST /v1/multiupload: ('Connection aborted.', RemoteDisconnected('Remote end closed "
    "connection without response'))"
)


def doc_id(upload: int, i: int) -> str:
    """The document id of row ``i`` of the ``upload``-th upload (1-based)."""
    return f"U{upload}-{i:05d}"


def fill_day(path: Path, *, uncertain_upload: int = 3, queued_upload: int = 4) -> Ledger:
    """Fill the ledger at ``path`` (sandbox target); returns it open."""
    ledger = Ledger(path, target=SANDBOX_TARGET)
    for n, (name, who, count) in enumerate(UPLOADS, start=1):
        rows = [
            RowRecord(
                i + 2,
                doc_id(n, i),
                f"https://kyc.example/{doc_id(n, i)}.jpg",
                True,
                original={"document_id": doc_id(n, i), "file_url": f"https://kyc.example/{doc_id(n, i)}.jpg"},
            )
            for i in range(count)
        ]
        ledger.record_upload(
            UploadRecord(name, "POC_CDL", submitted_by=who, columns=("document_id", "file_url")),
            rows,
            chunk_size=CHUNK,
        )
        if n == queued_upload:
            continue  # left waiting to be sent
        while (chunk := ledger.claim_chunk("fill", upload_id=n)) is not None:
            last = not ledger.chunks_in_state("queued", upload_id=n)
            if n == uncertain_upload and last:
                ledger.record_chunk_failure(chunk.chunk_id, "uncertain", RAW_ERROR)
                continue
            batch_id = f"BATCH-{n}-{chunk.chunk_id:05d}"
            ledger.record_sent(
                chunk.chunk_id, [(batch_id, d, str(uuid.uuid4())) for _, d, _ in chunk.documents]
            )
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
            ledger.finish_poll(batch_id, ledger.record_documents(batch_id, results))
    return ledger
