"""Parsing extracts pages tolerantly, and page walks that always end (no HTTP: pages from lists)."""

from __future__ import annotations

import pytest

from atlas_core.client.extracts import (
    CopyChoice,
    ExtractsPage,
    ItemCollector,
    PageWalk,
    clamp_per_page,
    collect_pages,
    holds_results,
    pages_after,
    parse_extracts_page,
    walk_pages,
)
from atlas_core.errors import ProtocolError


def item(doc_id: str, **fields) -> dict:
    return {"document_id": doc_id, "file_data": fields}


@pytest.mark.parametrize(
    ("asked", "sent"), [(50, 50), (51, 50), (500, 50), (20, 20), (0, 1), (-5, 1)]
)
def test_per_page_is_clamped_to_atlas_maximum(asked, sent):
    assert clamp_per_page(asked) == sent


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {
                "data": [item("1")],
                "page": 1,
                "per_page": 50,
                "total_pages": 3,
                "total_items": 120,
                "has_next": True,
            },
            (1, 50, 3, 120, True, 3),
        ),
        (
            {"data": [item("1")], "total_pages": None, "total_items": None, "has_next": False},
            (2, 10, None, None, False, None),
        ),
        (
            {"data": [], "page": "2", "per_page": "10", "total_pages": "4", "total_items": "31"},
            (2, 10, 4, 31, True, 4),
        ),
        (
            {"data": [item("1")], "total_items": 25},
            (2, 10, None, 25, True, 3),
        ),  # no flag: totals decide
        ({"data": [item("1")], "total_items": 20}, (2, 10, None, 20, False, 2)),
        (
            {"data": [item(str(i)) for i in range(10)]},
            (2, 10, None, None, True, None),
        ),  # full page: maybe more
        ({"data": [item("1")]}, (2, 10, None, None, False, None)),
        ({}, (2, 10, None, None, False, None)),  # data missing
        (
            {"data": None, "has_next": "true", "total_pages": -1, "total_items": True},
            (2, 10, None, None, True, None),
        ),
    ],
)
def test_parse_tolerates_missing_null_and_string_fields(body, expected):
    page = parse_extracts_page(body, page=2, per_page=10)
    assert (
        page.page,
        page.per_page,
        page.total_pages,
        page.total_items,
        page.has_next,
        page.last_page,
    ) == expected
    assert page.items == (body.get("data") or [])


@pytest.mark.parametrize(
    "body",
    [[], "ok", None, {"data": {"document_id": "1"}}, {"data": ["1", "2"]}, {"data": "none"}],
)
def test_parse_refuses_bodies_the_contract_does_not_allow(body):
    with pytest.raises(ProtocolError, match="extracts page 3"):
        parse_extracts_page(body, page=3, per_page=50)


class FakeAtlas:
    """Pages from a list: what a server would answer, with the numbers asked for recorded."""

    def __init__(
        self, pages: list[dict], *, ignore_page: bool = False, refuse_past_end: bool = False
    ) -> None:
        self.pages = pages
        self.ignore_page = ignore_page
        self.refuse_past_end = refuse_past_end
        self.asked: list[int] = []

    def __call__(self, number: int) -> ExtractsPage | None:
        self.asked.append(number)
        index = 0 if self.ignore_page else number - 1
        if index >= len(self.pages):
            if self.refuse_past_end:
                return None
            return parse_extracts_page({"data": []}, page=number, per_page=2)
        return parse_extracts_page(self.pages[index], page=number, per_page=2)


def _pages(total_docs: int, per_page: int = 2, **extra) -> list[dict]:
    docs = [item(f"d{i}", name={"value": str(i)}) for i in range(total_docs)]
    count = (total_docs + per_page - 1) // per_page
    return [
        {
            "data": docs[i * per_page : (i + 1) * per_page],
            "page": i + 1,
            "has_next": i + 1 < count,
            **extra,
        }
        for i in range(count)
    ]


def _walk_all(atlas: FakeAtlas, workers: int) -> list[str]:
    first = atlas(1)
    return [
        i["document_id"] for i in collect_pages(first, atlas, PageWalk("B", 2), workers=workers)
    ]


@pytest.mark.parametrize("workers", [1, 4])
def test_a_server_ignoring_the_page_parameter_cannot_loop_forever(workers):
    atlas = FakeAtlas(
        [{"data": [item("a"), item("b")], "has_next": True, "total_pages": 5}], ignore_page=True
    )
    assert _walk_all(atlas, workers) == ["a", "b"]
    assert len(atlas.asked) <= 6


@pytest.mark.parametrize("workers", [1, 4])
def test_has_next_forever_with_new_items_stops_at_the_page_cap(workers):
    class Endless:
        asked = 0

        def __call__(self, number: int) -> ExtractsPage:
            Endless.asked += 1
            return parse_extracts_page(
                {"data": [item(f"n{number}")], "has_next": True}, page=number, per_page=1
            )

    walk = PageWalk("B", 1)
    walk.limit = 40  # the real limit is 100,000 pages at per_page=1; the rule is the same
    result = collect_pages(Endless()(1), Endless(), walk, workers=workers)
    assert len(result) == 40
    assert Endless.asked == 40


@pytest.mark.parametrize("workers", [1, 4])
@pytest.mark.parametrize(
    ("pages", "options"),
    [
        (_pages(9, total_pages=5, total_items=9), {}),
        (_pages(9), {}),  # no totals at all: walk has_next one page at a time
        (_pages(9, total_pages=2, total_items=4), {}),  # totals count only finished: has_next wins
        (_pages(9, total_pages=8, total_items=16), {}),  # totals over-count: trailing empty pages
        (_pages(9, total_pages=8, total_items=16), {"refuse_past_end": True}),  # or refused ones
    ],
    ids=[
        "exact-totals",
        "no-totals",
        "under-counted",
        "over-counted-empty",
        "over-counted-refused",
    ],
)
def test_every_document_is_collected_once_whatever_the_totals(pages, options, workers):
    atlas = FakeAtlas(pages, **options)
    assert _walk_all(atlas, workers) == [f"d{i}" for i in range(9)]


def test_pages_after_stops_on_an_empty_or_refused_page():
    more = {"has_next": True, "total_pages": 9}
    full = [{"data": [item("a"), item("b")], **more}, {"data": [item("c"), item("d")], **more}]
    atlas = FakeAtlas([*full, {"data": [], **more}, {"data": [item("late")], **more}])
    pages = list(pages_after(atlas(1), 1, atlas, PageWalk("B", 2)))
    assert [len(p.items) for p in pages] == [2, 0]
    assert atlas.asked == [1, 2, 3]
    refused = FakeAtlas(full, refuse_past_end=True)
    assert [len(p.items) for p in pages_after(refused(1), 1, refused, PageWalk("B", 2))] == [2]
    assert refused.asked == [1, 2, 3]


def test_the_collector_keeps_first_order_and_prefers_a_copy_with_results():
    collector = ItemCollector()
    assert collector.add([item("a"), {"document_id": "b", "status": "PROCESSING"}]) == [
        item("a"),
        {"document_id": "b", "status": "PROCESSING"},
    ]
    fresh = collector.add([item("b", name={"value": "B"}), item("a"), item("c"), {"no_id": 1}])
    assert fresh == [item("c"), {"no_id": 1}]
    assert collector.items() == [item("a"), item("b", name={"value": "B"}), item("c"), {"no_id": 1}]
    collector.add([item("b")])  # an empty copy never replaces results
    assert collector.items()[1] == item("b", name={"value": "B"})


@pytest.mark.parametrize("workers", [1, 4])
@pytest.mark.parametrize("options", [{}, {"refuse_past_end": True}], ids=["empty-end", "refused-end"])
def test_a_walk_hands_over_every_page_once_in_page_order(options, workers):
    """What a refresh stores page by page: the same pages collect_pages reads, in order."""
    atlas = FakeAtlas(_pages(9, total_pages=3, total_items=6), **options)  # totals under-count
    pages = list(walk_pages(atlas(1), atlas, PageWalk("B", 2), workers=workers))
    assert [p.page for p in pages] == sorted(p.page for p in pages)
    assert [i["document_id"] for p in pages for i in p.items] == [f"d{i}" for i in range(9)]


@pytest.mark.parametrize(
    ("copies", "kept"),
    [
        ([False], [True]),
        ([True, True], [True, False]),  # the first copy with results stays
        ([False, False], [True, False]),  # and so does the first empty one
        ([False, True], [True, True]),  # a later copy with results replaces an empty one
        ([False, True, False, True], [True, True, False, False]),  # never replaced again
    ],
)
def test_which_copy_of_a_repeated_document_counts(copies, kept):
    choice = CopyChoice()
    assert [choice.keeps("d1", has_results) for has_results in copies] == kept
    assert choice.keeps("d2", False)  # another document is another question


@pytest.mark.parametrize(
    ("file_data", "expected"),
    [({"name": {"value": "A"}}, True), ({}, False), (None, False), ("text", False), ([1], False)],
)
def test_only_a_non_empty_object_holds_results(file_data, expected):
    assert holds_results({"document_id": "d", "file_data": file_data}) is expected
