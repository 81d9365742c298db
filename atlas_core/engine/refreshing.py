"""Polling Atlas for results: every unfinished batch, all its pages, results stored in one go.

A batch is complete when every document it was sent has a result; ``total_items`` is never
trusted for that (contract, open point 3). A 400 on a batch submitted moments ago means "not
ready yet" (open point 4), not a failure, for ``NOT_READY_GRACE`` seconds.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..client import AtlasClient
from ..client.extracts import ExtractsPage, PageWalk, collect_pages
from ..config import MAX_PER_PAGE
from ..errors import AtlasError, AuthError, BadRequestError, GoneError
from ..ledger import BatchProgress, Interpreted, Ledger, now_ts
from .interpreting import Interpretation, interpret_item

log = logging.getLogger(__name__)

NOT_READY_GRACE = 600.0  # seconds after submitting during which a 400 on extracts means "not ready"
INFERRED_GRACE = 600.0  # seconds a batch keeps being polled when some failures may be "not done yet"


@dataclass
class RefreshSummary:
    """What one refresh did, batch by batch, and where the time went."""

    polled: int = 0
    finished: int = 0
    changed: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    progress: list[BatchProgress] = field(default_factory=list)
    fetch_seconds: float = 0.0  # fetching and interpreting (they overlap)
    write_seconds: float = 0.0  # the ledger transaction
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def note(self, progress: BatchProgress | None, fetch: float, write: float) -> None:
        """Add one batch's outcome and timings (thread-safe)."""
        with self.lock:
            self.fetch_seconds += fetch
            self.write_seconds += write
            if progress is not None:
                self.polled += 1
                self.changed += progress.changed
                self.finished += progress.state != "processing"
                self.progress.append(progress)


@dataclass(frozen=True)
class Fetched:
    """A batch's results as read from Atlas, interpreted and ready to store."""

    results: list[Interpreted]
    any_inferred: bool  # some failures may only mean "not done yet"


def to_interpreted(result: Interpretation) -> Interpreted:
    """The ledger's record of an Interpretation, file_data serialised here, off the write path."""
    data = result.file_data
    return Interpreted(
        document_id=str(result.document_id),
        state=result.state,
        document_type=result.document_type,
        error=result.error,
        file_data=data,
        min_confidence=result.min_confidence,
        file_data_json=None if data is None else json.dumps(data, ensure_ascii=False),
    )


def fetch_results(
    client: AtlasClient, batch_id: str, *, concurrency: int = 8, per_page: int = MAX_PER_PAGE
) -> Fetched:
    """Every page of a batch (page 1, then the rest in parallel), each interpreted as it arrives.

    This is ``client.fetch_extracts`` assembled from the same public pieces, so that interpreting
    (CPU) overlaps with waiting for the other pages instead of following all of them.
    """
    prepared: dict[int, tuple[dict, Interpreted | None, bool]] = {}

    def prepare(items: list[dict]) -> None:
        for item in items:
            result = interpret_item(item)
            ready = to_interpreted(result) if result.document_id is not None else None
            prepared[id(item)] = (item, ready, result.inferred)

    def get_page(number: int) -> ExtractsPage | None:
        try:
            page = client.extracts_page(batch_id, number, per_page)
        except BadRequestError:
            return None  # Atlas may refuse a page past the end instead of answering it empty
        prepare(page.items)
        return page

    first = client.extracts_page(batch_id, 1, per_page)
    prepare(first.items)
    items = collect_pages(first, get_page, PageWalk(batch_id, per_page), workers=max(1, concurrency))
    results: list[Interpreted] = []
    inferred = False
    for item in items:
        entry = prepared.get(id(item))
        if entry is None or entry[0] is not item:
            prepare([item])
            entry = prepared[id(item)]
        if entry[1] is not None:
            results.append(entry[1])
            inferred = inferred or entry[2]
    return Fetched(results, inferred)


def store_results(
    ledger: Ledger, batch_id: str, fetched: Fetched, *, created_at: float | None,
    now: float | None = None,
) -> BatchProgress:
    """Store interpreted results; a young batch with inferred failures stays open a while."""
    now = now_ts() if now is None else now
    young = created_at is not None and now - created_at < INFERRED_GRACE
    return ledger.record_results(batch_id, fetched.results, keep_open=young and fetched.any_inferred,
                                 now=now)


def refresh_batch(
    ledger: Ledger,
    client: AtlasClient,
    batch_id: str,
    *,
    concurrency: int = 8,
    force: bool = False,
    summary: RefreshSummary | None = None,
) -> BatchProgress | None:
    """Poll one batch (if due, or always when ``force``) and store what Atlas holds for it."""
    summary = summary if summary is not None else RefreshSummary()
    if not ledger.claim_poll(batch_id, force=force):
        return None
    batch = ledger.batch(batch_id) or {}
    started = time.perf_counter()
    try:
        fetched = fetch_results(client, batch_id, concurrency=concurrency)
    except (AuthError, GoneError):
        ledger.record_poll_error(batch_id, None)
        raise
    except BadRequestError as exc:
        young = now_ts() - (batch.get("created_at") or 0) < NOT_READY_GRACE
        ledger.record_poll_error(batch_id, None if young else exc.message)
        if not young:
            summary.errors[batch_id] = exc.message
        summary.note(None, time.perf_counter() - started, 0.0)
        return None
    except AtlasError as exc:
        ledger.record_poll_error(batch_id, exc.message)
        summary.errors[batch_id] = exc.message
        summary.note(None, time.perf_counter() - started, 0.0)
        log.info("polling %s failed: %s", batch_id, exc.message)
        return None
    fetched_at = time.perf_counter()
    progress = store_results(ledger, batch_id, fetched, created_at=batch.get("created_at"))
    summary.note(progress, fetched_at - started, time.perf_counter() - fetched_at)
    return progress


def refresh_batches(
    ledger: Ledger,
    client: AtlasClient,
    *,
    batch_ids: Iterable[str] | None = None,
    force: bool = False,
    concurrency: int = 8,
    progress: Callable[[BatchProgress | None], None] | None = None,
) -> RefreshSummary:
    """Poll due batches (or the given ones, or all unfinished ones when ``force``)."""
    summary = RefreshSummary()
    ids = list(batch_ids) if batch_ids is not None else ledger.due_batches(all_unfinished=force)
    # Several small batches are polled side by side; each one's pages are fetched in parallel too.
    lanes = max(1, min(len(ids), max(concurrency // 4, 1)))

    def one(batch_id: str) -> None:
        result = refresh_batch(ledger, client, batch_id, concurrency=concurrency, force=force,
                               summary=summary)
        if progress is not None:
            progress(result)

    with ThreadPoolExecutor(max_workers=lanes, thread_name_prefix="atlas-refresh") as pool:
        for future in [pool.submit(one, batch_id) for batch_id in ids]:
            future.result()
    return summary
