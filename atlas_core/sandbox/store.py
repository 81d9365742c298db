"""What the sandbox holds: tokens, accepted batches, its clock, and the extracts view of a batch.

A document finishes ``processing_seconds`` (times a per-document factor between 0.5 and 1.5)
after its upload was accepted, measured on the sandbox clock, which tests move with ``advance``.
Finishing times are computed when asked, from the current behaviour, so nothing needs a timer.
"""

from __future__ import annotations

import base64
import bisect
import functools
import json
import math
import secrets
import string
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from .behaviour import Behaviour
from .documents import Outcome, cached_outcome, outcome_for, temporary, unit
from .journal import Journal

_JWT_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()


def new_token() -> str:
    """A random token shaped like a JWT (so redaction patterns meet a realistic one)."""
    payload = base64.urlsafe_b64encode(
        json.dumps({"sub": "sandbox", "jti": secrets.token_hex(8)}).encode()
    )
    return f"{_JWT_HEADER}.{payload.rstrip(b'=').decode()}.{secrets.token_urlsafe(32)}"


def new_opaque_token() -> str:
    """A random token with no recognisable shape, holding '/', '+' and '=' (Behaviour.opaque_tokens)."""
    return f"atk/{base64.b64encode(secrets.token_bytes(18)).decode()}+{secrets.token_hex(6)}=="


def new_batch_id(now: float) -> str:
    """A batch id shaped like Atlas's, e.g. BATCH-30732-SIYKJ-20251121113228, random enough to be unique."""
    digits = f"{secrets.randbelow(100_000):05d}"
    letters = "".join(secrets.choice(string.ascii_uppercase) for _ in range(5))
    return f"BATCH-{digits}-{letters}-{time.strftime('%Y%m%d%H%M%S', time.gmtime(now))}"


class TokenBook:
    """Tokens minted by the sandbox and when each expires (sandbox clock). Memory only."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}

    def issue(self, lifetime: float, now: float, *, opaque: bool = False) -> str:
        """Mint a token valid for ``lifetime`` seconds (opaque rather than JWT-shaped if asked)."""
        token = new_opaque_token() if opaque else new_token()
        with self._lock:
            if len(self._expiry) > 10_000:  # a soak mints many; forget the expired ones
                self._expiry = {t: e for t, e in self._expiry.items() if e > now}
            self._expiry[token] = now + lifetime
        return token

    def check(self, token: str | None, now: float) -> str | None:
        """None when the token is valid, else the reason it is not."""
        if not token:
            return "The Token header is missing."
        with self._lock:
            expiry = self._expiry.get(token)
        if expiry is None:
            return "The token is not recognised."
        if now >= expiry:
            return "The token has expired."
        return None

    def issued(self) -> list[str]:
        """Every token minted and still remembered (tests search files and logs for them)."""
        with self._lock:
            return list(self._expiry)

    def expire_all(self) -> None:
        """Make every token minted so far expired."""
        with self._lock:
            for token in self._expiry:
                self._expiry[token] = -math.inf


@dataclass(frozen=True)
class Doc:
    """One accepted document of a batch."""

    document_id: str
    file_url: str
    file_uuid: str
    index: int
    pace: float  # this document's share of processing_seconds, 0.5 to 1.5, from its hash

    def finish_at(self, accepted_at: float, processing_seconds: float) -> float:
        """When the document is finished, on the sandbox clock."""
        return accepted_at + processing_seconds * self.pace


@dataclass(frozen=True)
class Batch:
    """One accepted multiupload."""

    batch_id: str
    product_type: str
    at: float
    docs: tuple[Doc, ...]

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Batch:
        """Rebuild a batch from its journal record."""
        docs = tuple(
            Doc(
                str(item["document_id"]),
                str(item["file_url"]),
                str(item["file_uuid"]),
                i,
                0.5 + unit("jitter", str(item["document_id"]), str(item["file_url"])),
            )
            for i, item in enumerate(record["items"])
        )
        return cls(record["batch_id"], record["product_type"], float(record["at"]), docs)

    @functools.cached_property
    def sorted_paces(self) -> list[float]:
        """Every document's pace, sorted, so counting finished documents is one bisect."""
        return sorted(doc.pace for doc in self.docs)

    def finished_count(self, processing_seconds: float, now: float) -> int:
        """How many documents are finished at ``now`` (sandbox clock)."""
        if processing_seconds <= 0:
            return len(self.docs) if now >= self.at else 0
        return bisect.bisect_right(self.sorted_paces, (now - self.at) / processing_seconds)


class BatchStore:
    """Accepted uploads, in memory and (when given a journal) on disk, plus the sandbox clock."""

    def __init__(self, journal: Journal | None = None) -> None:
        self.journal = journal
        self._lock = threading.RLock()
        self._batches: dict[str, Batch] = {}
        self._records: list[dict[str, Any]] = []
        self._offset = 0.0
        self.sync()

    def now(self) -> float:
        """The sandbox clock: wall time plus whatever tests advanced it by."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the sandbox clock forward."""
        with self._lock:
            self._offset += float(seconds)

    def sync(self) -> None:
        """Pick up uploads other processes (or an earlier run) wrote to the journal."""
        if self.journal is None:
            return
        for record in self.journal.read_new():
            with self._lock:
                if record["batch_id"] not in self._batches:
                    try:
                        self._batches[record["batch_id"]] = Batch.from_record(record)
                    except (KeyError, TypeError, ValueError):
                        continue
                    self._records.append(record)

    def accept(self, product_type: str, items: list[dict[str, str]]) -> dict[str, Any]:
        """Record an upload as one new batch (journal first, so a crash never loses an answer)."""
        now = self.now()
        with self._lock:
            batch_id = new_batch_id(now)
            while batch_id in self._batches:
                batch_id = new_batch_id(now)
            record = {
                "batch_id": batch_id,
                "product_type": product_type,
                "items": [
                    {
                        "document_id": i["document_id"],
                        "file_url": i["file_url"],
                        "file_uuid": str(uuid.uuid4()),
                    }
                    for i in items
                ],
                "at": now,
            }
            if self.journal is not None:
                self.journal.append(record)
            self._batches[batch_id] = Batch.from_record(record)
            self._records.append(record)
            return record

    def get(self, batch_id: str) -> Batch | None:
        """The batch with this id, looking in the journal for new ones first if unknown."""
        batch = self._batches.get(batch_id)
        if batch is None:
            self.sync()
            batch = self._batches.get(batch_id)
        return batch

    def records(self) -> list[dict[str, Any]]:
        """Every accepted upload record, oldest first (by acceptance time, across processes)."""
        self.sync()
        with self._lock:
            records = json.loads(json.dumps(self._records))
        return sorted(records, key=lambda record: record["at"])

    def accept_counts(self) -> dict[str, int]:
        """document_id -> how many times multiupload accepted it."""
        counts: dict[str, int] = {}
        for record in self.records():
            for item in record["items"]:
                counts[item["document_id"]] = counts.get(item["document_id"], 0) + 1
        return counts


def finished_docs(batch: Batch, behaviour: Behaviour, now: float) -> list[tuple[float, Doc]]:
    """(finish time, doc) for every finished document of the batch, in submitted order."""
    pairs = [(doc.finish_at(batch.at, behaviour.processing_seconds), doc) for doc in batch.docs]
    return [(t, doc) for t, doc in pairs if t <= now]


def outcome(doc: Doc, behaviour: Behaviour) -> Outcome:
    """The finished result of one document (shared and cached: serialise it, never change it)."""
    result = cached_outcome(
        doc.document_id, doc.file_url, behaviour.fail_rate, behaviour.hostile_rate
    )
    return temporary(result, doc.document_id, doc.file_url, behaviour.temporary_fail_share)


def truth(batch: Batch, behaviour: Behaviour, now: float) -> list[dict[str, Any]]:
    """The finished results Atlas holds for the batch, independent of how extracts shows them."""
    rows = []
    for _, doc in finished_docs(batch, behaviour, now):
        result = temporary(
            outcome_for(doc.document_id, doc.file_url, behaviour.fail_rate, behaviour.hostile_rate),
            doc.document_id, doc.file_url, behaviour.temporary_fail_share,
        )
        rows.append(
            {
                "document_id": doc.document_id,
                "file_url": doc.file_url,
                "file_uuid": doc.file_uuid,
                "status": result.status,
                "document_type": result.document_type,
                "file_data": result.file_data if result.status == "extracted" else None,
                "error_code": result.error_code,
                "error_message": result.error_message,
                "hostile": result.hostile,
            }
        )
    return rows


# Building the listing walks every document of the batch; a 10,000-document batch read in 200
# pages would rebuild it 200 times. The listing only changes when another document finishes
# (or the behaviour changes), so it is cached on that.
_LISTING_CACHE: dict[tuple[str, Behaviour, int], tuple[list[dict[str, Any]], int]] = {}
_LISTING_CACHE_SIZE = 64


def extracts_items(
    batch: Batch, behaviour: Behaviour, now: float
) -> tuple[list[dict[str, Any]], int]:
    """The items extracts lists for the batch right now, and how many of them are finished."""
    key = (batch.batch_id, behaviour, batch.finished_count(behaviour.processing_seconds, now))
    cached = _LISTING_CACHE.get(key)
    if cached is None:
        cached = _build_listing(batch, behaviour, now)
        if len(_LISTING_CACHE) >= _LISTING_CACHE_SIZE:
            _LISTING_CACHE.clear()
        _LISTING_CACHE[key] = cached
    return cached


def _build_listing(
    batch: Batch, behaviour: Behaviour, now: float
) -> tuple[list[dict[str, Any]], int]:
    # (finish time, or None while pending; the item as listed)
    entries: list[tuple[float | None, dict[str, Any]]] = []
    for doc in batch.docs:
        at = doc.finish_at(batch.at, behaviour.processing_seconds)
        if at > now:
            item = _pending_item(doc, behaviour)
            if item is not None:
                entries.append((None, item))
        else:
            item = _finished_item(doc, outcome(doc, behaviour), behaviour)
            if item is not None:
                entries.append((at, item))
    done = [(at, item) for at, item in entries if at is not None]
    if behaviour.order == "finished":
        done.sort(key=lambda pair: pair[0])  # stable: ties keep submitted order
        entries = done + [entry for entry in entries if entry[0] is None]
    return [item for _, item in entries], len(done)


def _pending_item(doc: Doc, behaviour: Behaviour) -> dict[str, Any] | None:
    if behaviour.pending_style == "empty":
        return {"document_id": doc.document_id, "file_data": {}}
    if behaviour.pending_style == "status":
        return {"document_id": doc.document_id, "status": "PROCESSING"}
    return None


def _finished_item(doc: Doc, result: Outcome, behaviour: Behaviour) -> dict[str, Any] | None:
    if result.status == "extracted":
        return {"document_id": doc.document_id, "file_data": result.file_data}
    style = behaviour.failed_style
    if style == "absent":
        return None
    if style == "empty":
        return {"document_id": doc.document_id, "file_data": {}}
    if style == "document_type":
        return {"document_id": doc.document_id, "file_data": {"document_type": "INVALID_DOC"}}
    return {
        "document_id": doc.document_id,
        "error_code": result.error_code,
        "error_message": result.error_message,
    }
