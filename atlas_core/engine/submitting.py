"""Sending queued chunks to Atlas with bounded concurrency and recording each answer atomically.

Each lane claims a chunk (atomically, so several processes can share one ledger), sends it and
records what Atlas said before taking the next; receipts are recorded and the next chunk claimed in
one transaction, so a lane holds at most one chunk in 'sending' at any time (what a crash can leave
uncertain stays bounded by the lanes). What happens on each answer:

- 201 with receipts -> the chunk is sent, its documents submitted, the batch recorded;
- OutcomeUnknownError (or a 2xx we cannot read) -> uncertain: never resent without the user;
- 400/422 and other refusals -> rejected, with Atlas's message;
- 429/5xx/connection refused (after the client's own retries) -> back in the queue with a delay;
- 401/410, or no usable token (TokenEndpointError) -> back in the queue, and sending stops:
  settings need fixing first;
- a request that could not even be built (ConnectFailedError that is not retry_safe) -> back in
  the queue, and sending stops: nothing was sent, and sending it again would fail the same way.

``send_until_answered`` asks for a token before it claims anything, and stops there (everything
still queued) when there is none to be had; its ``max_wait`` is a deadline that every lane, every
retry and every pause inside a request obeys, so it returns within ``max_wait`` plus one request
timeout even when Atlas cannot be reached at all.
- any other exception (our own failure) -> uncertain if the request may have left, else back in
  the queue; then it is raised. No chunk stays 'sending' once its request is over.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..backoff import backoff_delay
from ..client import AtlasClient, UploadItem
from ..errors import (
    ApiError,
    AtlasError,
    AuthError,
    ConnectFailedError,
    GoneError,
    LedgerError,
    OutcomeUnknownError,
    ProtocolError,
    RateLimitedError,
    TransportError,
)
from ..ledger import ClaimedChunk, Ledger, now_ts
from ..ledger import states as S
from .budget import SubmitBudget

log = logging.getLogger(__name__)

REQUEUE_CAP = 300.0  # seconds: a chunk refused by a busy Atlas is tried again at least this often
SENDING_POLL = 0.2  # seconds between looks at chunks another worker is sending
# Atlas's answer is in hand but the ledger is unreachable (a PostgreSQL restart, a cut
# connection): keep trying to record it this long before settling for 'uncertain'.
RECORD_RETRY_SECONDS = 60.0


@dataclass
class SendSummary:
    """What one round of sending did."""

    chunks_sent: int = 0
    documents_sent: int = 0
    uncertain: int = 0  # documents
    rejected: int = 0  # documents
    requeued: int = 0  # chunks put back because Atlas was busy or unreachable
    batches: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **counts: int) -> None:
        """Add counts from one lane (thread-safe)."""
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


def requeue_delay(attempts: int, error: AtlasError, base: float, cap: float) -> float:
    """How long a chunk waits before its next attempt: Atlas's Retry-After, else doubling backoff."""
    if isinstance(error, RateLimitedError) and error.retry_after:
        return min(float(error.retry_after), REQUEUE_CAP)
    return backoff_delay(attempts - 1, base, cap)


@dataclass(frozen=True)
class NextClaim:
    """Who claims the next chunk together with a recorded answer, unless ``stop`` is set by then."""

    worker_id: str
    upload_id: int | None
    stop: threading.Event
    deadline: float | None = None  # time.monotonic() after which nothing new is claimed

    def open(self) -> bool:
        """True while a lane may claim another chunk."""
        return not self.stop.is_set() and (
            self.deadline is None or time.monotonic() < self.deadline
        )


def send_chunk(
    ledger: Ledger, client: AtlasClient, chunk: ClaimedChunk, summary: SendSummary,
    *, backoff_base: float, backoff_cap: float, then_claim: NextClaim | None = None,
) -> ClaimedChunk | None:
    """Send one claimed chunk and record the outcome; raise when sending must stop (requeued) or
    on an internal error (settled first).

    With ``then_claim``, a sent chunk's receipts are recorded in the same transaction that claims
    the next chunk, which is returned (None when nothing is due, or on any other outcome).
    """
    if not chunk.documents:
        ledger.record_chunk_failure(chunk.chunk_id, S.CANCELLED, "No documents were left to send.")
        return None
    items = [UploadItem(file_url=url, document_id=doc_id) for _, doc_id, url in chunk.documents]
    sent = threading.Event()  # set once the request may have left: from then on, never requeued
    deadline = then_claim.deadline if then_claim is not None else None
    try:
        receipts = client.multiupload(
            chunk.product_type, items, on_send=sent.set, deadline=deadline
        )
    except (OutcomeUnknownError, ProtocolError) as exc:
        if isinstance(exc, ProtocolError) and not sent.is_set():
            # An unreadable token answer, say: the upload itself never left.
            settle_unsent(ledger, chunk, exc.message, backoff_base, backoff_cap)
            summary.add(requeued=1)
            summary.errors.append(exc.message)
            return None
        ledger.record_chunk_failure(chunk.chunk_id, S.UNCERTAIN, exc.user_message())
        summary.add(uncertain=len(items))
        summary.errors.append(exc.message)
        return None
    except (AuthError, GoneError) as exc:
        ledger.requeue_chunk(chunk.chunk_id, exc.message, retry_at=now_ts())
        raise
    except (TransportError, ApiError) as exc:
        if isinstance(exc, ConnectFailedError) and not exc.retry_safe:
            # Never sent, and it would fail the same way again: keep it queued and stop here.
            ledger.requeue_chunk(chunk.chunk_id, exc.message, retry_at=now_ts())
            raise
        if exc.retry_safe:
            delay = requeue_delay(chunk.attempts, exc, backoff_base, backoff_cap)
            ledger.requeue_chunk(chunk.chunk_id, exc.message, retry_at=now_ts() + delay)
            summary.add(requeued=1)
            log.info("chunk %s put back in the queue for %.1fs: %s", chunk.chunk_id, delay, exc.message)
        else:
            ledger.record_chunk_failure(chunk.chunk_id, S.REJECTED, exc.message)
            summary.add(rejected=len(items))
        summary.errors.append(exc.message)
        return None
    except BaseException as exc:
        # No answer we know how to read (our own failure, or a library's): the chunk must not
        # stay 'sending' once its request is over, whatever was raised.
        log.exception("sending chunk %s failed unexpectedly", chunk.chunk_id)
        what = f"An internal error ({type(exc).__name__}; it was logged) stopped this upload"
        if sent.is_set():
            settle_uncertain(ledger, chunk, f"{what} after it may have reached Atlas.")
            summary.add(uncertain=len(items))
        else:
            settle_unsent(ledger, chunk, f"{what} before it was sent; it is queued again.",
                          backoff_base, backoff_cap)
            summary.add(requeued=1)
        raise
    answer = [(r.batch_id, r.document_id, r.file_uuid) for r in receipts]
    following = None
    try:
        if then_claim is not None and then_claim.open():
            # One transaction instead of two on the lane's path from one answer to the next request.
            batches, following = ledger.record_sent_and_claim(
                chunk.chunk_id, answer, then_claim.worker_id, documents=chunk.documents,
                upload_id=then_claim.upload_id,
            )
        else:
            batches = ledger.record_sent(chunk.chunk_id, answer, documents=chunk.documents)
    except LedgerError as first:
        # The ledger, not the answer, failed: record the answer once the ledger is back, rather
        # than leave documents Atlas holds 'uncertain' (or 'sending', if marking them fails too).
        try:
            batches = _record_when_back(ledger, chunk.chunk_id, answer, first)
        except BaseException as exc:
            log.error("recording the receipts of chunk %s failed: %s", chunk.chunk_id, exc)
            reason = exc.message if isinstance(exc, AtlasError) else f"{type(exc).__name__}; logged"
            settle_uncertain(ledger, chunk, f"Atlas accepted these documents as batch "
                             f"{receipts[0].batch_id}, but recording that failed ({reason}).")
            summary.add(uncertain=len(items))
            raise
    except BaseException as exc:
        log.exception("recording the receipts of chunk %s failed", chunk.chunk_id)
        reason = exc.message if isinstance(exc, AtlasError) else f"{type(exc).__name__}; logged"
        settle_uncertain(ledger, chunk, f"Atlas accepted these documents as batch "
                         f"{receipts[0].batch_id}, but recording that failed ({reason}).")
        summary.add(uncertain=len(items))
        raise
    summary.add(chunks_sent=1, documents_sent=len(receipts))
    with summary._lock:
        summary.batches.extend(batches)
    return following


def _record_when_back(ledger: Ledger, chunk_id: int, answer: list[tuple[str, str, str]],
                      first: LedgerError) -> list[str]:
    """Record Atlas's answer, trying again while the ledger is unreachable (RECORD_RETRY_SECONDS)."""
    log.warning("recording the receipts of chunk %s failed (%s); trying again", chunk_id, first)
    deadline = time.monotonic() + RECORD_RETRY_SECONDS
    attempt = 0
    while True:
        time.sleep(backoff_delay(attempt, 0.25, 5.0))
        attempt += 1
        try:
            batches = ledger.record_sent(chunk_id, answer)
        except LedgerError:
            if time.monotonic() >= deadline:
                raise
            continue
        log.info("recorded the receipts of chunk %s after %d more tries", chunk_id, attempt)
        return batches


def settle_uncertain(ledger: Ledger, chunk: ClaimedChunk, reason: str) -> None:
    """Mark a chunk whose request may have reached Atlas uncertain (never resent on its own)."""
    try:
        ledger.record_chunk_failure(
            chunk.chunk_id, S.UNCERTAIN, f"{reason} {OutcomeUnknownError.default_hint}"
        )
    except Exception:  # the ledger itself failing; what recovers orphans will find the chunk
        log.exception("could not mark chunk %s uncertain", chunk.chunk_id)


def settle_unsent(
    ledger: Ledger, chunk: ClaimedChunk, reason: str, backoff_base: float, backoff_cap: float
) -> None:
    """Put a chunk whose request certainly never left back in the queue, after a backoff."""
    delay = backoff_delay(chunk.attempts - 1, backoff_base, backoff_cap)
    try:
        ledger.requeue_chunk(chunk.chunk_id, reason, retry_at=now_ts() + delay)
    except Exception:
        log.exception("could not put chunk %s back in the queue", chunk.chunk_id)


def send_queued(
    ledger: Ledger,
    client: AtlasClient,
    *,
    worker_id: str,
    upload_id: int | None = None,
    concurrency: int = 4,
    backoff_base: float = 0.5,
    backoff_cap: float = 30.0,
    progress: Callable[[int], object] | None = None,  # its answer is ignored (tqdm's update)
    stop: threading.Event | None = None,
    deadline: float | None = None,
    budget: SubmitBudget | None = None,
) -> SendSummary:
    """Send every chunk that is queued and due now, ``concurrency`` requests at a time.

    With ``deadline`` (``time.monotonic()`` seconds), no chunk is claimed after it and no request
    waits past it to retry; chunks that come due again meanwhile would otherwise keep a round of
    an unreachable Atlas going for ever. With ``budget``, each lane sends only while it holds one
    of the slots every worker on the ledger shares (ATLAS_MAX_IN_FLIGHT).
    """
    summary = SendSummary()
    stop = stop or threading.Event()
    fatal: list[AtlasError] = []
    then_claim = NextClaim(worker_id, upload_id, stop, deadline)

    def lane() -> None:
        if budget is None:
            send_lane()
            return

        def still_wanted() -> bool:
            return then_claim.open() and bool(ledger.queued_work(upload_id=upload_id)["queued"])

        # The shared budget's slot comes before the claim, and is kept while the lane sends.
        with budget.slot(still_wanted=still_wanted, stop=stop) as slot:
            if slot is not None:
                send_lane()

    def send_lane() -> None:
        # A chunk is claimed only when this lane can send it at once: one claimed early would
        # turn uncertain in a crash without ever having left.
        chunk = ledger.claim_chunk(worker_id, upload_id=upload_id) if then_claim.open() else None
        while chunk is not None:
            try:
                following = send_chunk(ledger, client, chunk, summary, backoff_base=backoff_base,
                                       backoff_cap=backoff_cap, then_claim=then_claim)
            except AtlasError as exc:
                fatal.append(exc)
                stop.set()
                return
            if progress is not None:
                progress(len(chunk.documents))
            if following is None and then_claim.open():
                following = ledger.claim_chunk(worker_id, upload_id=upload_id)
            chunk = following

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="atlas-send") as pool:
        futures = [pool.submit(lane) for _ in range(concurrency)]
        try:
            for future in futures:
                future.result()
        except BaseException:
            # Ctrl-C: the lanes record the answers already on their way, then take nothing new.
            stop.set()
            raise
    if fatal:
        raise fatal[0]
    return summary


def send_until_answered(
    ledger: Ledger,
    client: AtlasClient,
    *,
    worker_id: str,
    upload_id: int | None = None,
    concurrency: int = 4,
    backoff_base: float = 0.5,
    backoff_cap: float = 30.0,
    max_wait: float = 600.0,
    progress: Callable[[int], object] | None = None,  # its answer is ignored (tqdm's update)
    sleep: Callable[[float], None] = time.sleep,
    total: SendSummary | None = None,
    budget: SubmitBudget | None = None,
) -> SendSummary:
    """Send until no chunk of the upload is queued or in flight, waiting at most ``max_wait`` s.

    Before each round that has queued work, a token is made sure of; when none can be had the
    error is raised before any chunk is claimed, so everything stays queued. Counts go into
    ``total`` when given, so a caller keeps them even when an error ends the sending.
    """
    total = SendSummary() if total is None else total
    deadline = time.monotonic() + max_wait
    while True:
        if ledger.queued_work(upload_id=upload_id)["queued"]:
            client.ensure_token(deadline)  # a cached token costs nothing; no token, no claims
        round_ = send_queued(ledger, client, worker_id=worker_id, upload_id=upload_id,
                             concurrency=concurrency, backoff_base=backoff_base,
                             backoff_cap=backoff_cap, progress=progress, deadline=deadline,
                             budget=budget)
        for name in ("chunks_sent", "documents_sent", "uncertain", "rejected", "requeued"):
            setattr(total, name, getattr(total, name) + getattr(round_, name))
        total.batches.extend(round_.batches)
        total.errors.extend(round_.errors)
        work = ledger.queued_work(upload_id=upload_id)
        if not work["queued"] and not work["sending"]:
            return total
        # Queued ones wait out their backoff; chunks another worker is sending are waited for.
        due = work["next_due"] if work["queued"] else None
        wait = max((due or 0) - now_ts(), 0.05) if due is not None else SENDING_POLL
        if time.monotonic() + wait > deadline:
            return total
        sleep(min(wait, backoff_cap))
