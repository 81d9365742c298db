"""Helpers for the Review page tests (no tests here): a ledger of finished documents, and images.

``fill_reviews`` records one upload through the ledger's own API and answers it with the
sandbox's realistic results (benchmarks/ledger_fill.py), so the review queue holds documents
without any polling. Its file URLs point wherever the caller says: a loopback ``ImageServer``
in the browser tests, so the reviewer's browser loads a real image from a pre-signed-looking
link (intake refuses private hosts, which is why the ledger is filled directly).
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from ledger_fill import answer_chunk  # noqa: E402

from atlas_core.ledger import Interpreted, Ledger, RowRecord, UploadRecord  # noqa: E402
from atlas_core.ledger.targets import SANDBOX_TARGET  # noqa: E402

CHUNK = 50


def presigned(base: str, name: str, *, signed: datetime, lifetime: int = 3600) -> str:
    """An S3-style pre-signed link (SigV4 query) to ``base/name``, signed at ``signed``."""
    return (
        f"{base}/{name}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE%2F"
        f"{signed:%Y%m%d}%2Fap-south-1%2Fs3%2Faws4_request&X-Amz-Date={signed:%Y%m%dT%H%M%SZ}"
        f"&X-Amz-Expires={lifetime}&X-Amz-SignedHeaders=host&X-Amz-Signature={'ab' * 32}"
    )


def fill_reviews(
    path: Path,
    count: int,
    *,
    url_for: Callable[[str], str] | None = None,
    prefix: str = "R",
    submitted_by: str = "Asha",
    file_name: str = "kyc-north.csv",
    ids: list[str] | None = None,
    answer: Callable[[str], Interpreted] | None = None,
) -> Ledger:
    """One upload of ``count`` finished documents in the ledger at ``path`` (sandbox target), open.

    ``ids`` names the documents (else R00000, R00001, ...); ``answer`` gives a document's result
    instead of the sandbox's (a hostile Atlas).
    """
    url_for = url_for or (lambda doc: f"https://kyc.example/{doc}.jpg")
    ledger = Ledger(path, target=SANDBOX_TARGET)
    ids = ids or [f"{prefix}{i:05d}" for i in range(count)]
    rows = [
        RowRecord(i + 2, doc, url_for(doc), True, original={"document_id": doc, "file_url": url_for(doc)})
        for i, doc in enumerate(ids)
    ]
    upload = ledger.record_upload(
        UploadRecord(file_name, "POC_CDL", submitted_by=submitted_by, columns=("document_id", "file_url")),
        rows,
        chunk_size=CHUNK,
    )
    upload_id = upload.upload_id
    while (chunk := ledger.claim_chunk("fill", upload_id=upload_id)) is not None:
        batch_id = f"BATCH-{prefix}-{chunk.chunk_id:05d}"
        if answer is None:
            answer_chunk(ledger, chunk, batch_id)
            continue
        ledger.record_sent(chunk.chunk_id, [(batch_id, d, f"uuid-{d}") for _, d, _ in chunk.documents])
        ledger.finish_poll(batch_id, ledger.record_documents(batch_id, [answer(d) for _, d, _ in chunk.documents]))
    return ledger


def fresh_link(base: str) -> Callable[[str], str]:
    """Links signed a minute ago for an hour (the image loads)."""
    signed = datetime.now(UTC) - timedelta(minutes=1)
    return lambda doc: presigned(base, f"{doc}.png", signed=signed)


@lru_cache(maxsize=256)
def document_png(name: str) -> bytes:
    """A card that looks enough like a scanned ID for a screenshot: the name printed on it."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (640, 400), (236, 240, 244))
    draw = ImageDraw.Draw(image)
    draw.rectangle((16, 16, 623, 383), outline=(90, 110, 140), width=4)
    draw.rectangle((40, 90, 200, 300), fill=(190, 200, 212))
    draw.text((40, 40), "GOVERNMENT OF INDIA (SAMPLE)", fill=(40, 50, 70))
    for n, line in enumerate((f"Document {name}", "Name: A. SAMPLE", "DOB: 01/01/1990", "XXXX XXXX 9012")):
        draw.text((230, 110 + 40 * n), line, fill=(20, 20, 20))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


class _ImageHandler(BaseHTTPRequestHandler):
    server: ImageServer

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        name = self.path.split("?", 1)[0].rsplit("/", 1)[-1].rsplit(".", 1)[0]
        self.server.requests.append(self.path)
        body = document_png(name[:40])
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


class ImageServer(ThreadingHTTPServer):
    """Document images on a loopback port, as a bucket would serve pre-signed links."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ImageHandler)
        self.requests: list[str] = []
        self._thread = threading.Thread(target=self.serve_forever, name="image-server", daemon=True)

    @property
    def base(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> ImageServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
