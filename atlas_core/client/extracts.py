"""Pages of extracts: parsing one page tolerantly, and walking pages so a walk always ends.

The contract leaves most of the paging open (totals may count only finished documents or be
missing, a page past the end may be empty or refused, pages may shift while Atlas works), so a
walk follows ``has_next`` but stops on an empty page, a page seen before, or a hard page cap.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ..config import MAX_PER_PAGE
from ..errors import ProtocolError

log = logging.getLogger(__name__)

# One upload is one batch of at most a few thousand documents; no real walk comes near this.
MAX_ITEMS_PER_WALK = 100_000


@dataclass(frozen=True)
class ExtractsPage:
    """One page of ``GET /v1/bulk/extracts``: the raw items and the paging fields Atlas sent."""

    items: list[dict]
    page: int
    per_page: int
    total_pages: int | None
    total_items: int | None
    has_next: bool

    @property
    def last_page(self) -> int | None:
        """The last page number the totals imply, or None when Atlas sent no totals."""
        if self.total_pages is not None:
            return self.total_pages
        if self.total_items is not None and self.per_page > 0:
            return math.ceil(self.total_items / self.per_page)
        return None


def clamp_per_page(per_page: int) -> int:
    """``per_page`` within 1..50: Atlas documents 50 as the maximum."""
    return max(1, min(int(per_page), MAX_PER_PAGE))


def _as_count(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _as_flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return None


def parse_extracts_page(
    body: Any, *, page: int, per_page: int, url: str | None = None
) -> ExtractsPage:
    """Turn a 200 body into an ExtractsPage; missing or null fields get safe defaults."""
    if not isinstance(body, dict):
        raise ProtocolError(
            f"Atlas answered extracts page {page} with {type(body).__name__} instead of an object."
        )
    data = body.get("data")
    if data is None:
        data = []
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ProtocolError(
            f"Atlas answered extracts page {page} with a 'data' that is not a list of objects."
        )
    echoed_per_page = _as_count(body.get("per_page")) or per_page
    total_pages = _as_count(body.get("total_pages"))
    total_items = _as_count(body.get("total_items"))
    has_next = _as_flag(body.get("has_next"))
    if has_next is None:
        # No flag: trust the totals, and without them assume a full page means there is more.
        if total_pages is None and total_items is not None:
            total_pages_implied: int | None = math.ceil(total_items / echoed_per_page)
        else:
            total_pages_implied = total_pages
        if total_pages_implied is not None:
            has_next = page < total_pages_implied
        else:
            has_next = len(data) >= echoed_per_page
    return ExtractsPage(
        items=data,
        page=_as_count(body.get("page")) or page,
        per_page=echoed_per_page,
        total_pages=total_pages,
        total_items=total_items,
        has_next=has_next,
    )


def _signature(items: list[dict]) -> tuple[str, ...]:
    return tuple(
        str(item["document_id"])
        if "document_id" in item
        else json.dumps(item, sort_keys=True, default=str)
        for item in items
    )


class PageWalk:
    """Decides after each page whether to ask for the next one; it cannot go on forever."""

    def __init__(self, batch_id: str, per_page: int) -> None:
        self.batch_id = batch_id
        self.limit = max(1, MAX_ITEMS_PER_WALK // clamp_per_page(per_page))
        self._seen: set[tuple[str, ...]] = set()

    def wants_next(self, page: ExtractsPage, number: int) -> bool:
        """True when page ``number + 1`` should be fetched after ``page``."""
        if not page.items:
            return False
        signature = _signature(page.items)
        if signature in self._seen:
            # Atlas ignoring the page parameter (or looping) would otherwise walk forever.
            log.warning(
                "extracts page %d of batch %s repeats an earlier page; stopping",
                number,
                self.batch_id,
            )
            return False
        self._seen.add(signature)
        if number >= self.limit:
            log.warning(
                "extracts of batch %s reached the %d-page safety limit", self.batch_id, self.limit
            )
            return False
        return page.has_next

    def remember(self, page: ExtractsPage) -> None:
        """Record a page fetched out of order (in parallel) so a later repeat of it is caught."""
        if page.items:
            self._seen.add(_signature(page.items))


# Fetches one page by number; None when Atlas refused it (a page past the end may get a 400).
PageGetter = Callable[[int], "ExtractsPage | None"]


def pages_after(
    first: ExtractsPage, number: int, get_page: PageGetter, walk: PageWalk
) -> Iterator[ExtractsPage]:
    """The pages after ``first`` (page ``number``), one at a time, for as long as the walk wants."""
    page: ExtractsPage | None = first
    while page is not None and walk.wants_next(page, number):
        number += 1
        page = get_page(number)
        if page is not None:
            yield page


def walk_pages(
    first: ExtractsPage, get_page: PageGetter, walk: PageWalk, *, workers: int
) -> Iterator[ExtractsPage]:
    """``first`` and the pages after it in page order: those its totals promise are fetched in
    parallel, then any more one at a time; a page Atlas refused is left out."""
    yield first
    last = min(first.last_page or 1, walk.limit)
    if last < 2 or workers < 2 or not first.has_next or not first.items:
        yield from pages_after(first, 1, get_page, walk)
        return
    walk.remember(first)
    numbers = list(range(2, last + 1))
    pool = ThreadPoolExecutor(
        max_workers=min(workers, len(numbers)), thread_name_prefix="atlas-page"
    )
    try:
        futures = [pool.submit(get_page, n) for n in numbers]
        pages = [future.result() for future in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    for page in pages[:-1]:
        if page is not None:
            walk.remember(page)
            yield page
    tail = pages[-1]
    if tail is not None:
        yield tail
        # More pages than the totals promised (they may count only finished documents).
        yield from pages_after(tail, last, get_page, walk)


def collect_pages(
    first: ExtractsPage, get_page: PageGetter, walk: PageWalk, *, workers: int
) -> list[dict]:
    """Every distinct item: the pages the totals of ``first`` promise in parallel, then any more."""
    collector = ItemCollector()
    for page in walk_pages(first, get_page, walk, workers=workers):
        collector.add(page.items)
    return collector.items()


def holds_results(item: dict) -> bool:
    """True when an item carries results: a non-empty ``file_data`` object."""
    file_data = item.get("file_data")
    return isinstance(file_data, dict) and bool(file_data)


class CopyChoice:
    """Which copy of a document Atlas repeats across pages counts: the first seen in page order,
    unless a later copy holds results and the one kept does not (pages shift while Atlas works).

    The one rule for the client's walks (``ItemCollector``) and the refresh's stores alike.
    """

    def __init__(self) -> None:
        self._kept: dict[str, bool] = {}  # document_id -> whether the copy kept holds results

    def keeps(self, key: str, has_results: bool) -> bool:
        """True when this copy of document ``key`` is the one to keep (it replaces any earlier)."""
        earlier = self._kept.get(key)
        if earlier is not None and (earlier or not has_results):
            return False
        self._kept[key] = has_results
        return True


class ItemCollector:
    """Items by document_id, first-seen order; which copy counts follows ``CopyChoice``."""

    def __init__(self) -> None:
        self._items: list[dict] = []
        self._index: dict[str, int] = {}
        self._choice = CopyChoice()

    def add(self, items: Iterable[dict]) -> list[dict]:
        """Add items; return those not seen before (for a streaming walk)."""
        fresh = []
        for item in items:
            key = item.get("document_id")
            if key is None:
                self._items.append(item)
                fresh.append(item)
                continue
            key = str(key)
            if not self._choice.keeps(key, holds_results(item)):
                continue
            position = self._index.get(key)
            if position is None:
                self._index[key] = len(self._items)
                self._items.append(item)
                fresh.append(item)
            else:
                self._items[position] = item
        return fresh

    def items(self) -> list[dict]:
        """Every distinct item collected so far."""
        return list(self._items)
