"""A ledger as a working day leaves it (no tests here): several uploads, submitters and states.

Filled through the ledger's own API (no network): each upload's chunks are sent as batches and
answered with the sandbox's realistic results; one upload's last request is left uncertain with
the raw transport error the client records, and one upload stays queued. Used by the AppTest
pages at scale and by the accessibility audit in real Chromium.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from ledger_fill import answer_chunk  # noqa: E402  (shared with the page and export benchmarks)

from atlas_core.ledger import Ledger, RowRecord, UploadRecord  # noqa: E402
from atlas_core.ledger.targets import SANDBOX_TARGET  # noqa: E402

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
            answer_chunk(ledger, chunk, f"BATCH-{n}-{chunk.chunk_id:05d}")
    return ledger
