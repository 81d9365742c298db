"""The sandbox's own tests: plain ``requests`` against its real socket, endpoint by endpoint.

Faults are tested in test_sandbox_faults.py, the journal and controls in test_sandbox_state.py,
fake results (types, fields, scores, hostile values) in test_sandbox_documents.py.
"""

from __future__ import annotations

import re

import pytest
import requests
from sandbox_http import CREDENTIALS, TIMEOUT, all_items, extracts, items, submit, token, upload

BATCH_ID = re.compile(r"^BATCH-\d{5}-[A-Z]{5}-\d{14}$")


# Token


@pytest.mark.parametrize(
    "path", ["/v1/bulk/authtoken", "/v3/verification/authtoken", "/v1/docstream/authtoken"]
)
def test_token_is_minted_on_every_documented_path(sandbox, path):
    reply = requests.post(sandbox.url + path, headers=CREDENTIALS, timeout=TIMEOUT)
    assert reply.status_code == 201
    body = reply.json()
    assert body["expires_in"] == 3600
    assert re.fullmatch(r"eyJ[\w-]+\.[\w-]+\.[\w-]+", body["access_token"])
    assert body["access_token"] != token(sandbox)


@pytest.mark.parametrize("missing", ["Client-Id", "Client-Secret"])
def test_token_without_a_header_is_400(sandbox, missing):
    headers = {k: v for k, v in CREDENTIALS.items() if k != missing}
    reply = requests.post(f"{sandbox.url}/v1/bulk/authtoken", headers=headers, timeout=TIMEOUT)
    assert reply.status_code == 400
    assert reply.json()["error_code"] == "400"


def test_token_with_wrong_credentials_is_401(sandbox):
    headers = {**CREDENTIALS, "Client-Secret": "wrong"}
    reply = requests.post(f"{sandbox.url}/v1/bulk/authtoken", headers=headers, timeout=TIMEOUT)
    assert reply.status_code == 401
    assert set(reply.json()) == {"error_code", "error_message"}


def test_token_lifetime_follows_the_behaviour_and_the_clock(make_sandbox):
    server = make_sandbox(token_lifetime=30)
    tok = token(server)
    assert upload(server, tok, items(1)).status_code == 201
    server.advance(31)
    reply = upload(server, tok, items(1))
    assert reply.status_code == 401
    assert reply.json()["error"] == "Invalid token" and "expired" in reply.json()["reason"]


@pytest.mark.parametrize("bad_token", [None, "", "eyJunknown.token.value"])
def test_calls_without_a_valid_token_are_401(sandbox, bad_token):
    headers = {} if bad_token is None else {"Token": bad_token}
    up = requests.post(
        f"{sandbox.url}/v1/bulk/multiupload",
        headers=headers,
        json={"product_type": "POC_CDL", "file_urls": items(1)},
        timeout=TIMEOUT,
    )
    assert up.status_code == 401 and up.json()["error"] == "Invalid token" and up.json()["reason"]
    ex = requests.get(
        f"{sandbox.url}/v1/bulk/extracts",
        headers=headers,
        params={"batch_id": "x"},
        timeout=TIMEOUT,
    )
    assert ex.status_code == 401 and ex.json()["error_code"] == "401"
    assert sandbox.received_uploads() == []


def test_expire_tokens_makes_every_token_stale(sandbox):
    tok = token(sandbox)
    sandbox.expire_tokens()
    assert upload(sandbox, tok, items(1)).status_code == 401
    assert upload(sandbox, token(sandbox), items(1)).status_code == 201


# Multiupload


def test_multiupload_answers_one_receipt_per_item_in_one_batch(sandbox):
    sent = items(5)
    reply = upload(sandbox, token(sandbox), sent)
    assert reply.status_code == 201
    receipts = reply.json()
    assert [r["document_id"] for r in receipts] == [i["document_id"] for i in sent]
    assert len({r["batch_id"] for r in receipts}) == 1 and BATCH_ID.match(receipts[0]["batch_id"])
    assert len({r["file_uuid"] for r in receipts}) == 5
    [recorded] = sandbox.received_uploads()
    assert recorded["batch_id"] == receipts[0]["batch_id"] and recorded["product_type"] == "POC_CDL"
    assert [(i["document_id"], i["file_url"]) for i in recorded["items"]] == [
        (i["document_id"], i["file_url"]) for i in sent
    ]
    assert sandbox.accept_counts() == {i["document_id"]: 1 for i in sent}


def test_docstream_family_works_like_bulk(sandbox):
    tok = token(sandbox)
    reply = requests.post(
        f"{sandbox.url}/v1/docstream/multiupload",
        headers={"Token": tok},
        json={"product_type": "POC_CDL", "file_urls": items(2)},
        timeout=TIMEOUT,
    )
    assert reply.status_code == 201
    sandbox.advance(10)
    got = requests.get(
        f"{sandbox.url}/v1/docstream/extracts",
        headers={"Token": tok},
        params={"batch_id": reply.json()[0]["batch_id"]},
        timeout=TIMEOUT,
    )
    assert [d["document_id"] for d in got.json()["data"]] == ["doc-0", "doc-1"]


@pytest.mark.parametrize(
    "body",
    [
        {"file_urls": items(1)},
        {"product_type": 7, "file_urls": items(1)},
        {"product_type": "POC_CDL"},
        {"product_type": "POC_CDL", "file_urls": []},
        {"product_type": "POC_CDL", "file_urls": [{"file_url": "https://x/1.jpg"}]},
        {"product_type": "POC_CDL", "file_urls": [{"document_id": "1"}]},
        {
            "product_type": "POC_CDL",
            "file_urls": [{"file_url": "https://x/1.jpg", "document_id": 1}],
        },
        {"product_type": "POC_CDL", "file_urls": [*items(2), "https://x/3.jpg"]},
        ["not", "an", "object"],
    ],
)
def test_malformed_multiupload_is_400_and_records_nothing(sandbox, body):
    reply = requests.post(
        f"{sandbox.url}/v1/bulk/multiupload",
        headers={"Token": token(sandbox)},
        json=body,
        timeout=TIMEOUT,
    )
    assert reply.status_code == 400
    assert isinstance(reply.json()["error"], str)
    assert sandbox.received_uploads() == []


def test_batch_ids_are_unique(sandbox, make_sandbox):
    other = make_sandbox(state_path=None)
    ids = {submit(server, 1)[1] for server in (sandbox, other) for _ in range(20)}
    assert len(ids) == 40


def test_max_files_per_upload_refuses_bigger_requests_with_a_clear_message(make_sandbox):
    server = make_sandbox(max_files_per_upload=3)
    tok = token(server)
    assert upload(server, tok, items(3)).status_code == 201
    reply = upload(server, tok, items(4))
    assert reply.status_code == 400 and "at most 3" in reply.json()["error"]


@pytest.mark.parametrize(("duplicate_ids", "status"), [("allow", 201), ("refuse", 400)])
def test_duplicate_ids_in_one_upload(make_sandbox, duplicate_ids, status):
    server = make_sandbox(duplicate_ids=duplicate_ids)
    twice = [items(1)[0], {"file_url": "https://files.example/other.jpg", "document_id": "doc-0"}]
    reply = upload(server, token(server), twice)
    assert reply.status_code == status
    assert server.accept_counts() == ({"doc-0": 2} if status == 201 else {})


def test_accept_counts_show_a_resent_document(sandbox):
    submit(sandbox, 2)
    submit(sandbox, 1)
    assert sandbox.accept_counts() == {"doc-0": 2, "doc-1": 1}


# Extracts


@pytest.mark.parametrize(
    "params", [{}, {"batch_id": ""}, {"batch_id": "BATCH-00000-NOPEE-20250101000000"}]
)
def test_extracts_without_a_known_batch_is_400(sandbox, params):
    reply = extracts(sandbox, token(sandbox), **params)
    assert reply.status_code == 400 and reply.json()["error"]


@pytest.mark.parametrize(
    "params", [{"page": "x"}, {"page": 0}, {"per_page": 0}, {"per_page": "1.5"}]
)
def test_extracts_with_bad_paging_is_400(sandbox, params):
    tok, batch_id = submit(sandbox, 1)
    assert extracts(sandbox, tok, batch_id=batch_id, **params).status_code == 400


def test_a_batch_moves_from_pending_to_complete(make_sandbox):
    server = make_sandbox(processing_seconds=100)
    tok, batch_id = submit(server, 6)
    first = extracts(server, tok, batch_id=batch_id).json()
    assert first["data"] == [] and first["total_items"] == 6
    server.advance(75)  # jitter spreads finishing between 50 and 150 seconds
    middle = [d["document_id"] for d in extracts(server, tok, batch_id=batch_id).json()["data"]]
    server.advance(100)
    final = [d["document_id"] for d in extracts(server, tok, batch_id=batch_id).json()["data"]]
    assert final == [f"doc-{i}" for i in range(6)]
    assert set(middle) < set(final)
    assert [row["document_id"] for row in server.truth(batch_id)] == final


def test_pages_cover_the_batch_once(sandbox):
    tok, batch_id = submit(sandbox, 7)
    sandbox.advance(10)
    pages = [
        extracts(sandbox, tok, batch_id=batch_id, page=p, per_page=3).json() for p in (1, 2, 3)
    ]
    assert [p["total_pages"] for p in pages] == [3, 3, 3]
    assert [(p["has_prev"], p["has_next"]) for p in pages] == [
        (False, True),
        (True, True),
        (True, False),
    ]
    ids = [d["document_id"] for p in pages for d in p["data"]]
    assert ids == [f"doc-{i}" for i in range(7)]


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("absent", []),
        ("empty", [{"document_id": "doc-0", "file_data": {}}]),
        ("status", [{"document_id": "doc-0", "status": "PROCESSING"}]),
    ],
)
def test_pending_style(make_sandbox, style, expected):
    server = make_sandbox(processing_seconds=100, pending_style=style)
    tok, batch_id = submit(server, 1)
    assert extracts(server, tok, batch_id=batch_id).json()["data"] == expected


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("error_code", {"document_id": "bad", "error_code": "INVALID_DOC"}),
        ("empty", {"document_id": "bad", "file_data": {}}),
        ("document_type", {"document_id": "bad", "file_data": {"document_type": "INVALID_DOC"}}),
        ("absent", None),
    ],
)
def test_failed_style(make_sandbox, style, expected):
    server = make_sandbox(failed_style=style)
    tok = token(server)
    sent = [{"file_url": "https://files.example/broken.jpg", "document_id": "bad"}, *items(1)]
    batch_id = upload(server, tok, sent).json()[0]["batch_id"]
    server.advance(10)
    data = extracts(server, tok, batch_id=batch_id).json()["data"]
    assert data[-1]["document_id"] == "doc-0" and data[-1]["file_data"]["document_type"]
    failed = [d for d in data if d["document_id"] == "bad"]
    if expected is None:
        assert failed == []
    else:
        assert {k: failed[0][k] for k in expected} == expected
    assert [row["status"] for row in server.truth(batch_id)] == ["failed", "extracted"]


@pytest.mark.parametrize(("counts", "expected_total"), [("all", 4), ("finished", 0)])
def test_total_items_counts(make_sandbox, counts, expected_total):
    server = make_sandbox(processing_seconds=100, total_items_counts=counts)
    tok, batch_id = submit(server, 4)
    assert extracts(server, tok, batch_id=batch_id).json()["total_items"] == expected_total
    server.advance(200)
    assert extracts(server, tok, batch_id=batch_id).json()["total_items"] == 4


@pytest.mark.parametrize(
    ("mode", "status", "per_page"), [("clamp", 200, 50), ("refuse", 400, None)]
)
def test_per_page_over_the_maximum(make_sandbox, mode, status, per_page):
    server = make_sandbox(per_page_over_max=mode)
    tok, batch_id = submit(server, 60)
    server.advance(10)
    reply = extracts(server, tok, batch_id=batch_id, per_page=51)
    assert reply.status_code == status
    if per_page:
        assert reply.json()["per_page"] == per_page and len(reply.json()["data"]) == 50


@pytest.mark.parametrize(("mode", "status"), [("empty", 200), ("refuse", 400)])
def test_page_past_the_end(make_sandbox, mode, status):
    server = make_sandbox(page_past_end=mode)
    tok, batch_id = submit(server, 3)
    server.advance(10)
    reply = extracts(server, tok, batch_id=batch_id, page=2)
    assert reply.status_code == status
    if status == 200:
        assert reply.json()["data"] == [] and reply.json()["has_next"] is False


@pytest.mark.parametrize(("mode", "status"), [("empty", 200), ("refuse", 400)])
def test_new_batch(make_sandbox, mode, status):
    server = make_sandbox(processing_seconds=100, new_batch=mode)
    tok, batch_id = submit(server, 2)
    assert extracts(server, tok, batch_id=batch_id).status_code == status
    server.advance(200)
    assert extracts(server, tok, batch_id=batch_id).status_code == 200


@pytest.mark.parametrize("order", ["submitted", "finished"])
def test_order_of_data(make_sandbox, order):
    server = make_sandbox(processing_seconds=100, order=order)
    tok, batch_id = submit(server, 12)
    appearance: list[str] = []
    for _ in range(30):  # 30 steps of 5 s cover the 50-150 s spread of finishing times
        server.advance(5)
        for item in all_items(server, tok, batch_id, per_page=5):
            if item["document_id"] not in appearance:
                appearance.append(item["document_id"])
    final = [d["document_id"] for d in all_items(server, tok, batch_id, per_page=5)]
    submitted = [f"doc-{i}" for i in range(12)]
    assert sorted(final) == sorted(submitted) and appearance != submitted
    assert final == (submitted if order == "submitted" else appearance)


def test_the_sandbox_counts_multiuploads_in_flight_at_once(make_sandbox):
    """The stat the shared submit budget is checked with: in flight now, and the most at once."""
    from concurrent.futures import ThreadPoolExecutor

    server = make_sandbox(latency=0.5, fault_paths=("multiupload",))
    tok = token(server)
    with ThreadPoolExecutor(3) as pool:
        replies = list(pool.map(lambda k: upload(server, tok, items(1, f"c{k}")), range(3)))
    assert [r.status_code for r in replies] == [201] * 3
    seen = requests.get(f"{server.url}/_sandbox/concurrency", timeout=10).json()
    assert seen["in_flight"] == 0 and 1 <= seen["peak"] <= 3
    assert requests.get(f"{server.url}/v1/bulk/extracts", timeout=10).status_code  # not counted
    reset = requests.post(f"{server.url}/_sandbox/concurrency/reset", json={}, timeout=10).json()
    assert reset == {"in_flight": 0, "peak": 0} == server.upload_concurrency()
