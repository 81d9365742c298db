"""Fuzzing the parsers of what Atlas sends back: any JSON in, a value or a ProtocolError out.

interpret_item and flatten_file_data are fuzzed in their own modules (test_interpreting.py,
test_results_flatten.py); this module covers the rest of the response path: extracts pages,
page walks, receipts, error bodies, Retry-After, and CSV exports of arbitrary file_data.
"""

from __future__ import annotations

import csv
import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from atlas_core.client.extracts import ExtractsPage, PageWalk, collect_pages, parse_extracts_page
from atlas_core.client.receipts import Receipt, UploadItem, check_receipts
from atlas_core.client.retrying import parse_retry_after
from atlas_core.errors import (
    ApiError,
    ProtocolError,
    RateLimitedError,
    ServerError,
    error_for_response,
    parse_error_body,
)
from atlas_core.neutralise import FORMULA_PREFIXES
from atlas_core.results import export_documents

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
JSON = st.recursive(
    SCALARS,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=25,
)
PAGE_KEYS = st.sampled_from(
    ["data", "page", "per_page", "total_pages", "total_items", "has_next", "has_prev"]
)
COUNTS = st.none() | st.integers(-3, 500) | st.floats(-1, 1e6) | st.sampled_from(["3", "x", "", "true"])
ITEMS = st.lists(
    st.fixed_dictionaries({"document_id": st.text(max_size=4) | st.integers(0, 20)},
                          optional={"file_data": JSON, "status": st.text(max_size=6)}),
    max_size=6,
)
PAGE_BODIES = st.dictionaries(PAGE_KEYS, COUNTS | ITEMS | st.booleans() | JSON, max_size=7)


@FUZZ
@given(JSON | PAGE_BODIES, st.integers(1, 50), st.integers(1, 60))
def test_any_extracts_body_parses_or_is_a_protocol_error(body, page, per_page):
    try:
        parsed = parse_extracts_page(body, page=page, per_page=per_page)
    except ProtocolError as exc:
        assert exc.message and exc.hint
        return
    assert isinstance(parsed.items, list) and all(isinstance(i, dict) for i in parsed.items)
    assert isinstance(parsed.has_next, bool)
    assert parsed.page >= 1 and parsed.per_page >= 1
    for total in (parsed.total_pages, parsed.total_items):
        assert total is None or (isinstance(total, int) and total >= 0)


@FUZZ
@given(st.lists(PAGE_BODIES, min_size=1, max_size=5), st.integers(1, 4))
def test_any_sequence_of_pages_walks_to_an_end(bodies, workers):
    # A server that repeats, loops or lies about has_next forever must still end the walk.
    pages = []
    for number, body in enumerate(bodies, start=1):
        try:
            pages.append(parse_extracts_page(body, page=number, per_page=50))
        except ProtocolError:
            pages.append(None)
    calls = []

    def get_page(number: int) -> ExtractsPage | None:
        calls.append(number)
        return pages[(number - 1) % len(pages)]  # past the end: the pages come round again

    first = pages[0] or ExtractsPage([], 1, 50, None, None, False)
    items = collect_pages(first, get_page, PageWalk("B-1", 50), workers=workers)
    assert len(calls) <= PageWalk("B-1", 50).limit + 1
    ids = [str(i["document_id"]) for i in items if "document_id" in i]
    assert len(ids) == len(set(ids)), "an item was collected twice"


SENT = st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=6, unique=True)


@FUZZ
@given(SENT, JSON)
def test_any_receipts_body_gives_receipts_or_a_protocol_error(ids, body):
    items = [UploadItem(f"https://f.test/{i}.jpg", i) for i in ids]
    try:
        receipts = check_receipts(body, items)
    except ProtocolError as exc:
        assert "Atlas" in exc.message and exc.hint
        return
    assert [r.document_id for r in receipts] == ids


@FUZZ
@given(SENT, st.data())
def test_receipts_that_are_almost_right_are_checked(ids, data):
    items = [UploadItem(f"https://f.test/{i}.jpg", i) for i in ids]
    good = [{"batch_id": "B-1", "document_id": i, "file_uuid": f"u{n}"} for n, i in enumerate(ids)]
    mutation = data.draw(st.sampled_from(["none", "drop", "extra", "repeat", "second_batch",
                                          "shuffle", "wrapped"]))
    body: object = list(good)
    if mutation == "drop":
        body = good[1:]
    elif mutation == "extra":
        body = [*good, {"batch_id": "B-1", "document_id": "\x00not-sent", "file_uuid": "x"}]
    elif mutation == "repeat":
        body = [*good, good[0]]
    elif mutation == "second_batch":
        body = [*good[:-1], {**good[-1], "batch_id": "B-2"}]
    elif mutation == "shuffle":
        body = data.draw(st.permutations(good))
    elif mutation == "wrapped":
        body = {"data": good}
    if mutation in ("none", "shuffle", "wrapped") or (mutation == "second_batch" and len(ids) == 1):
        receipts = check_receipts(body, items)
        assert receipts == [Receipt(r["batch_id"], r["document_id"], r["file_uuid"])
                            for r in sorted(body if isinstance(body, list) else good,
                                            key=lambda r: ids.index(r["document_id"]))]
    else:
        try:
            check_receipts(body, items)
        except ProtocolError:
            return
        raise AssertionError(f"{mutation} receipts were accepted")


@FUZZ
@given(st.text(max_size=200) | JSON.map(json.dumps))
def test_any_error_body_parses_without_raising(text):
    body, message = parse_error_body(text)
    assert message is None or (isinstance(message, str) and message.strip())


SECRET = "SECRET-9f2c-client-secret"


@FUZZ
@given(st.integers(400, 599), st.text(max_size=80) | JSON.map(json.dumps),
       st.sampled_from(["error", "error_message", "reason", "message"]))
def test_any_error_response_maps_to_a_class_with_a_redacted_message(status, text, key):
    leaky = json.dumps({key: f"bad {SECRET} and eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig-{text[:10]}"})
    for raw in (text, leaky):
        error = error_for_response(status, raw, url="http://atlas.test/x", secrets=(SECRET,))
        assert isinstance(error, ApiError) and error.status == status
        assert str(status) in error.message
        assert SECRET not in error.message and SECRET not in error.text
        assert "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0" not in error.message + error.text + repr(error)
        if status == 429:
            assert isinstance(error, RateLimitedError)
        elif status >= 500:
            assert isinstance(error, ServerError)


@FUZZ
@given(st.none() | st.text(max_size=40) | st.floats().map(str)
       | st.sampled_from(["Wed, 21 Oct 2015 07:28:00 GMT", "Thu, 01 Jan 2099 00:00:00 GMT",
                          "-5", "1e309", "nan", "0x10", " 3 "]))
def test_any_retry_after_is_none_or_a_finite_delay(value):
    seconds = parse_retry_after(value)
    assert seconds is None or (0.0 <= seconds < float("inf"))


@FUZZ
@given(st.lists(JSON, min_size=1, max_size=4), st.sampled_from(["wide", "long"]))
def test_any_file_data_exports_to_csv_with_no_live_formula(file_datas, layout):
    rows = [{"document_id": f"D{n}", "batch_id": "B-1", "file_url": "https://f.test/x.jpg",
             "state": "extracted", "document_type": None, "error": None, "file_data": data,
             "min_confidence": None, "upload_id": 1, "attempt": 1, "row_number": n + 2}
            for n, data in enumerate(file_datas)]
    data = export_documents(rows, "csv", layout)
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert table, "no header written"
    for line in table:
        for cell in line:
            assert not cell.startswith(FORMULA_PREFIXES) or _is_number(cell), cell


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
