"""Polling Atlas for results: every unfinished batch, all its pages, results stored as they come.

Each page is interpreted as it arrives and stored (in page order, by a thread of its own) while
later pages are still on their way; the batch's counts and state are updated once, at the end.

A batch is complete when every document it was sent has a result; ``total_items`` is never
trusted for that (contract, open point 3). A 400 on a batch submitted moments ago means "not
ready yet" (open point 4), not a failure, for ``NOT_READY_GRACE`` seconds.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ..client import AtlasClient
from ..client.extracts import CopyChoice, ExtractsPage, PageWalk, holds_results, walk_pages
from ..config import MAX_PER_PAGE
from ..errors import AtlasError, AuthError, BadRequestError, GoneError
from ..ledger import BatchProgress, Interpreted, Ledger, now_ts
from ..ledger import states as S
from ..ledger.jsontext import dump_standard
from .interpreting import Interpretation, interpret_item

log = logging.getLogger(__name__)

NOT_READY_GRACE = 600.0  # seconds after submitting during which a 400 on extracts means "not ready"
INFERRED_GRACE = 600.0  # seconds a batch keeps being polled when some failures may be "not done yet"


@dataclass
class RefreshSummary:
    """What one refresh did, batch by batch (benchmarks/bench_refresh.py times it)."""

    polled: int = 0
    finished: int = 0
    changed: int = 0
    errors: dict[str, str] = field(default_factory=dict)
    progress: list[BatchProgress] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def note(self, progress: BatchProgress) -> None:
        """Add one polled batch's outcome (thread-safe)."""
        with self.lock:
            self.polled += 1
            self.changed += progress.changed
            self.finished += progress.state != S.PROCESSING
            self.progress.append(progress)


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
        file_data_json=None if data is None else dump_standard(data),
    )


# One item of a page, interpreted: (the collector's key, whether it holds results, the record to
# store or None, whether its failure is only inferred).
Entry = tuple[str | None, bool, Interpreted | None, bool]


def interpret_page(items: list[dict]) -> list[Entry]:
    """Every item of a page interpreted, as PageStore takes them."""
    entries = []
    for item in items:
        result = interpret_item(item)
        key = item.get("document_id")
        entries.append((
            None if key is None else str(key),
            holds_results(item),
            to_interpreted(result) if result.document_id is not None else None,
            result.inferred,
        ))
    return entries


class PageStore:
    """Stores a batch's pages in page order, on its own thread, while later pages are fetched.

    Which copy of a document is stored follows ``CopyChoice``, as the client's walks do; a later
    copy that wins is stored over the earlier one.
    """

    def __init__(self, ledger: Ledger, batch_id: str) -> None:
        self.ledger, self.batch_id = ledger, batch_id
        self.changed = 0
        self._choice = CopyChoice()
        self._inferred: dict[str, bool] = {}  # key -> whether the copy kept is an inferred failure
        self._waiting: dict[int, list[Entry]] = {}
        self._next = 1
        self._queue: queue.SimpleQueue[tuple[int, list[Entry]] | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="atlas-store", daemon=True)
        self._thread.start()

    def put(self, number: int, entries: list[Entry]) -> None:
        """Hand over page ``number`` (an empty list for a page Atlas refused)."""
        self._queue.put((number, entries))

    def close(self) -> bool:
        """Store what is left, wait for the thread; return whether any stored failure is inferred."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return any(self._inferred.values())

    def abandon(self) -> None:
        """Store what arrived and stop, after the walk failed (its error is the one to raise)."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            log.warning("storing results of %s failed too: %s", self.batch_id, self._error)

    def _run(self) -> None:
        while (message := self._queue.get()) is not None:
            if self._error is not None:
                continue  # drain: the caller learns of the error on close
            self._waiting[message[0]] = message[1]
            self._flush(done=False)
        if self._error is None:
            self._flush(done=True)

    def _flush(self, *, done: bool) -> None:
        numbers = sorted(self._waiting) if done else []
        while not done and self._next in self._waiting:
            numbers.append(self._next)
            self._next += 1
        # Stored at once, a transaction per page or so: holding results back for bigger
        # transactions keeps more objects alive for the cyclic GC and saved nothing measurable.
        results = [r for n in numbers for r in self._choose(self._waiting.pop(n))]
        if not results:
            return
        try:
            self.changed += self.ledger.record_documents(self.batch_id, results)
        except BaseException as exc:  # raised again in the caller's thread, by close()
            self._error = exc

    def _choose(self, entries: list[Entry]) -> list[Interpreted]:
        chosen = []
        for key, has_results, ready, inferred in entries:
            if key is not None:
                if not self._choice.keeps(key, has_results):
                    continue
                self._inferred[key] = ready is not None and inferred
            if ready is not None:
                chosen.append(ready)
        return chosen


def _walk_view(page: ExtractsPage) -> ExtractsPage:
    """The page as the walk needs it to spot a repeat: each item's id, no more.

    The walk keeps every page until the last arrives; keeping Atlas's items whole would hold
    about eight dicts per document for that long, which the cyclic GC then scans again and again.
    """
    items = [
        item if "document_id" not in item else {"document_id": item["document_id"]}
        for item in page.items
    ]
    return dataclasses.replace(page, items=items)


def fetch_and_store(
    ledger: Ledger, client: AtlasClient, batch_id: str, *, concurrency: int = 8,
    per_page: int = MAX_PER_PAGE,
) -> tuple[PageStore, bool]:
    """Every page of a batch interpreted and stored as it arrives; (the store, any inferred?).

    Page 1 first, then the rest in parallel. The walk is ``client.fetch_extracts`` assembled from the same public pieces, so that
    interpreting (CPU) and storing (SQLite, which releases the GIL) overlap with waiting for the
    other pages instead of following all of them.
    """
    first = client.extracts_page(batch_id, 1, per_page)
    store = PageStore(ledger, batch_id)
    try:
        store.put(1, interpret_page(first.items))

        def get_page(number: int) -> ExtractsPage | None:
            try:
                page = client.extracts_page(batch_id, number, per_page)
            except BadRequestError:
                store.put(number, [])
                return None  # Atlas may refuse a page past the end instead of answering it empty
            store.put(number, interpret_page(page.items))
            return _walk_view(page)

        # The pages go to the store as they arrive: the walk only decides when it has them all.
        for _ in walk_pages(first, get_page, PageWalk(batch_id, per_page),
                            workers=max(1, concurrency)):
            pass
    except BaseException:
        store.abandon()
        raise
    return store, store.close()


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
    batch = ledger.batch(batch_id)
    try:
        store, any_inferred = fetch_and_store(ledger, client, batch_id, concurrency=concurrency)
    except (AuthError, GoneError):
        ledger.record_poll_error(batch_id, None)
        raise
    except BadRequestError as exc:
        young = now_ts() - (batch["created_at"] if batch else 0) < NOT_READY_GRACE
        ledger.record_poll_error(batch_id, None if young else exc.message)
        if not young:
            summary.errors[batch_id] = exc.message
        return None
    except AtlasError as exc:
        ledger.record_poll_error(batch_id, exc.message)
        summary.errors[batch_id] = exc.message
        log.info("polling %s failed: %s", batch_id, exc.message)
        return None
    except Exception:
        # Our own failure: one batch's refresh ends with a plain error, the others go on.
        log.exception("polling %s failed unexpectedly", batch_id)
        message = (
            "Reading Atlas's results for this batch failed with an internal error (it was "
            "logged); the batch is polled again later."
        )
        ledger.record_poll_error(batch_id, message)
        summary.errors[batch_id] = message
        return None
    created_at = batch["created_at"] if batch else None
    now = now_ts()
    # A young batch with inferred failures stays open a while: a later answer may still win.
    young = created_at is not None and now - created_at < INFERRED_GRACE
    progress = ledger.finish_poll(batch_id, store.changed, keep_open=young and any_inferred, now=now)
    summary.note(progress)
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
