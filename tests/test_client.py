"""AtlasClient against the real sandbox over a loopback socket: tokens, uploads, paging, faults."""

from __future__ import annotations

import logging
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from atlas_core.client import AtlasClient, ExtractsPage, Receipt, RetryPolicy, UploadItem
from atlas_core.config import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Settings
from atlas_core.errors import (
    AuthError,
    BadRequestError,
    ConfigError,
    ConnectFailedError,
    OutcomeUnknownError,
    RateLimitedError,
    ServerError,
    TokenEndpointError,
    TransportError,
)
from atlas_core.sandbox import Behaviour, SandboxServer
from atlas_core.sandbox.behaviour import CHOICES

FAST = RetryPolicy(max_retries=3, backoff_base=0.01, backoff_cap=0.05)
PRODUCT = "POC_CDL"
JWT_SHAPED = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def make_client(server: SandboxServer, **options) -> AtlasClient:
    """A client for ``server`` with fast retries and short timeouts unless overridden."""
    settings = {"retry": FAST, "connect_timeout": 2.0, "read_timeout": 5.0, **options}
    secret = options.pop("client_secret", SANDBOX_CLIENT_SECRET)
    settings.pop("client_secret", None)
    return AtlasClient(server.url, SANDBOX_CLIENT_ID, secret, **settings)


def upload_items(count: int, prefix: str = "doc") -> list[UploadItem]:
    """Documents with distinct IDs; every seventh URL is one the sandbox cannot read."""
    return [
        UploadItem(
            f"https://files.example/{'unreadable' if i % 7 == 6 else 'scan'}-{prefix}-{i}.jpg",
            f"{prefix}-{i}",
        )
        for i in range(count)
    ]


def log_of(server: SandboxServer, endpoint: str) -> list[dict]:
    """The sandbox's request log lines for one endpoint (e.g. "extracts")."""
    return [line for line in server.request_log() if line["path"].endswith("/" + endpoint)]


def statuses(server: SandboxServer, endpoint: str) -> list:
    """The statuses (or "dropped") the sandbox answered on one endpoint, in order."""
    return [line["status"] for line in log_of(server, endpoint)]


def wait_until(condition, seconds: float = 10.0) -> None:
    """Poll until a background effect shows (not a timing assertion: only a bound on waiting)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the sandbox never showed the expected effect"
        time.sleep(0.02)


class FakeClock:
    """The client's monotonic clock, moved by hand so token expiry needs no sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def client(sandbox):
    """A client for the ``sandbox`` fixture, closed afterwards."""
    with make_client(sandbox) as atlas:
        yield atlas


# -- tokens --------------------------------------------------------------------------------------


def test_token_is_minted_once_and_reused(sandbox, client):
    receipts = client.multiupload(PRODUCT, upload_items(3))
    for _ in range(3):
        client.extracts_page(receipts[0].batch_id)
    assert client.stats.tokens_minted == 1
    assert statuses(sandbox, "authtoken") == [201]
    assert statuses(sandbox, "multiupload") == [201]
    assert statuses(sandbox, "extracts") == [200, 200, 200]


def test_authenticate_mints_now_and_returns_the_lifetime(make_sandbox):
    server = make_sandbox(token_lifetime=120)
    with make_client(server) as atlas:
        assert atlas.authenticate() == 120.0
        assert atlas.authenticate() == 120.0
        assert atlas.stats.tokens_minted == 2


def test_token_is_renewed_shortly_before_it_expires(sandbox):
    clock = FakeClock()
    with make_client(sandbox, clock=clock, token_margin=60.0) as atlas:
        batch = atlas.multiupload(PRODUCT, upload_items(2))[0].batch_id
        clock.now += 3600 - 60 - 1
        atlas.extracts_page(batch)
        assert atlas.stats.tokens_minted == 1
        clock.now += 2
        atlas.extracts_page(batch)
        assert atlas.stats.tokens_minted == 2
    assert 401 not in statuses(sandbox, "extracts")


def test_a_short_lived_token_is_renewed_at_half_its_life(make_sandbox):
    server = make_sandbox(token_lifetime=10)
    clock = FakeClock()
    with make_client(server, clock=clock, token_margin=60.0) as atlas:
        batch = atlas.multiupload(PRODUCT, upload_items(2))[0].batch_id
        clock.now += 4.9
        atlas.extracts_page(batch)
        assert atlas.stats.tokens_minted == 1
        clock.now += 0.2
        atlas.extracts_page(batch)
        assert atlas.stats.tokens_minted == 2


@pytest.mark.parametrize("how", ["expire_tokens", "advance_past_lifetime"])
def test_an_expired_token_is_reminted_once_on_401(make_sandbox, how):
    server = make_sandbox(token_lifetime=30)
    with make_client(server) as atlas:
        batch = atlas.multiupload(PRODUCT, upload_items(2))[0].batch_id
        if how == "expire_tokens":
            server.expire_tokens()
        else:
            server.advance(31)
        page = atlas.extracts_page(batch)
        assert page.page == 1
        assert atlas.stats.tokens_minted == 2
        assert atlas.stats.reauthentications == 1
    assert statuses(server, "extracts") == [401, 200]


def test_a_second_401_gives_up_with_auth_error(sandbox, client):
    batch = client.multiupload(PRODUCT, upload_items(2))[0].batch_id
    sandbox.inject("401", "401", path="extracts")
    with pytest.raises(AuthError) as caught:
        client.extracts_page(batch)
    assert "freshly minted token" in caught.value.message
    assert "The token has expired." in caught.value.message
    assert caught.value.status == 401
    assert client.stats.tokens_minted == 2
    assert statuses(sandbox, "extracts") == [401, 401]


def test_an_upload_refused_with_401_is_resent_once_with_a_new_token(sandbox, client):
    sandbox.inject("401", path="multiupload")
    receipts = client.multiupload(PRODUCT, upload_items(4))
    assert [r.document_id for r in receipts] == [f"doc-{i}" for i in range(4)]
    assert statuses(sandbox, "multiupload") == [401, 201]
    assert sandbox.accept_counts() == {f"doc-{i}": 1 for i in range(4)}


def test_bad_credentials_raise_a_readable_auth_error(sandbox):
    with make_client(sandbox, client_secret="wrong-secret-value") as atlas:
        with pytest.raises(AuthError) as caught:
            atlas.multiupload(PRODUCT, upload_items(1))
        assert atlas.stats.tokens_minted == 0
        assert atlas.stats.errors == {"AuthError": 1}
    error = caught.value
    assert error.message == (
        "Atlas did not accept the client id and secret "
        "(Atlas answered 401: The credentials match no active account. (code 401))."
    )
    assert "ATLAS_CLIENT_SECRET" in error.user_message()
    assert statuses(sandbox, "authtoken") == [401]  # refused credentials are not retried
    assert statuses(sandbox, "multiupload") == []


# -- uploads -------------------------------------------------------------------------------------


def test_multiupload_returns_one_receipt_per_document_in_sent_order(sandbox, client):
    sent = upload_items(12)
    receipts = client.multiupload(PRODUCT, reversed(sent))
    assert [r.document_id for r in receipts] == [item.document_id for item in reversed(sent)]
    assert all(isinstance(r, Receipt) and r.file_uuid for r in receipts)
    (record,) = sandbox.received_uploads()
    assert {r.batch_id for r in receipts} == {record["batch_id"]}
    assert record["product_type"] == PRODUCT
    assert [(i["document_id"], i["file_url"]) for i in record["items"]] == [
        (item.document_id, item.file_url) for item in reversed(sent)
    ]
    assert {r.file_uuid for r in receipts} == {i["file_uuid"] for i in record["items"]}


def test_an_upload_atlas_refuses_as_malformed_raises_bad_request(make_sandbox):
    server = make_sandbox(max_files_per_upload=3)
    with make_client(server) as atlas, pytest.raises(BadRequestError) as caught:
        atlas.multiupload(PRODUCT, upload_items(4))
    assert "Too many files in one request: 4 sent, at most 3 allowed." in caught.value.message
    assert statuses(server, "multiupload") == [400]


# -- extracts ------------------------------------------------------------------------------------

PAGING_SWITCHES = [
    pytest.param({}, id="defaults"),
    *(
        pytest.param({name: choice}, id=f"{name}={choice}")
        for name, choices in CHOICES.items()
        if name != "duplicate_ids"
        for choice in choices[1:]
    ),
    pytest.param(
        {"pending_style": "status", "total_items_counts": "finished", "order": "finished"},
        id="status+count-finished+order-finished",
    ),
    pytest.param(
        {
            "pending_style": "empty",
            "failed_style": "absent",
            "page_past_end": "refuse",
            "new_batch": "refuse",
        },
        id="empty+absent+refusals",
    ),
]


def _check_walk(
    result: list[dict], sent: list[UploadItem], before: dict, after: dict, *, complete: bool
) -> None:
    ids = [item["document_id"] for item in result]
    assert len(ids) == len(set(ids)), "a document came back twice"
    assert set(ids) <= {item.document_id for item in sent}
    by_id = {item["document_id"]: item for item in result}
    for doc_id, item in by_id.items():
        if doc_id not in after:  # still processing: a pending marker, never results
            assert not item.get("file_data")
        elif after[doc_id]["status"] == "extracted":
            assert item["file_data"] == after[doc_id]["file_data"]
    if complete:
        for doc_id, row in before.items():
            if row["status"] == "extracted":
                assert by_id[doc_id]["file_data"] == row["file_data"]


def _walk_both_ways(server, atlas, batch, sent, switches, *, complete):
    per_page = 500 if "per_page_over_max" in switches else 20  # 500: the client must clamp it
    before = {row["document_id"]: row for row in server.truth(batch)}
    fetched = atlas.fetch_extracts(batch, concurrency=4, per_page=per_page)
    streamed = list(atlas.iter_extracts(batch, per_page=per_page))
    after = {row["document_id"]: row for row in server.truth(batch)}
    for result in (fetched, streamed):
        _check_walk(result, sent, before, after, complete=complete)
    return fetched, streamed


@pytest.mark.parametrize("switches", PAGING_SWITCHES)
def test_extracts_walks_survive_every_open_point(make_sandbox, switches):
    server = make_sandbox(processing_seconds=1000, **switches)
    sent = upload_items(120)
    with make_client(server) as atlas:
        batch = atlas.multiupload(PRODUCT, sent)[0].batch_id

        if switches.get("new_batch") == "refuse":
            with pytest.raises(
                BadRequestError
            ):  # the engine decides what a refused new batch means
                atlas.fetch_extracts(batch)
        else:
            assert all(not item.get("file_data") for item in atlas.fetch_extracts(batch))

        server.advance(1000)  # about half the documents are finished
        # Totals that count only finished documents while pending ones are listed, or an order
        # that moves finished documents forward, let a single pass miss some; later passes catch up.
        complete = switches.get("order") != "finished" and not (
            switches.get("total_items_counts") == "finished"
            and switches.get("pending_style", "absent") != "absent"
        )
        _walk_both_ways(server, atlas, batch, sent, switches, complete=complete)

        server.advance(1000)  # everything is finished
        fetched, streamed = _walk_both_ways(server, atlas, batch, sent, switches, complete=True)
        truth = server.truth(batch)
        assert len(truth) == len(sent)
        failed = {row["document_id"] for row in truth if row["status"] != "extracted"}
        assert failed, "the unreadable URLs should have failed"
        expected = {item.document_id for item in sent}
        if switches.get("failed_style") == "absent":
            expected -= failed
        assert {item["document_id"] for item in fetched} == expected
        assert {item["document_id"] for item in streamed} == expected


def test_iter_extracts_yields_each_document_once_while_pages_shift(make_sandbox):
    server = make_sandbox(processing_seconds=1000, order="finished", pending_style="empty")
    sent = upload_items(120)
    with make_client(server) as atlas:
        batch = atlas.multiupload(PRODUCT, sent)[0].batch_id
        server.advance(600)
        walk = atlas.iter_extracts(batch, per_page=20)
        first_page = [next(walk) for _ in range(20)]
        server.advance(600)  # documents finish and move to the front while the walk goes on
        rest = list(walk)
        shifted = [atlas.extracts_page(batch, n, 20).items for n in range(2, 7)]
    page_one_ids = {item["document_id"] for item in first_page}
    later_ids = {item["document_id"] for page in shifted for item in page}
    assert page_one_ids & later_ids, "the pages did not shift, so this test proves nothing"
    ids = [item["document_id"] for item in first_page + rest]
    assert len(ids) == len(set(ids))


def test_fetch_extracts_fetches_each_page_once(make_sandbox):
    server = make_sandbox(processing_seconds=0.01)
    sent = upload_items(95)
    with make_client(server) as atlas:
        batch = atlas.multiupload(PRODUCT, sent)[0].batch_id
        server.advance(1)
        result = atlas.fetch_extracts(batch, concurrency=8, per_page=10)
    assert [item["document_id"] for item in result] == [item.document_id for item in sent]
    assert statuses(server, "extracts") == [200] * 10


@pytest.mark.parametrize("mode", ["clamp", "refuse"])
def test_per_page_over_50_is_clamped_by_the_client(make_sandbox, mode):
    server = make_sandbox(per_page_over_max=mode, processing_seconds=0.01)
    with make_client(server) as atlas:
        batch = atlas.multiupload(PRODUCT, upload_items(60))[0].batch_id
        server.advance(1)
        page = atlas.extracts_page(batch, per_page=500)
    assert isinstance(page, ExtractsPage)
    assert (page.per_page, len(page.items), page.total_items, page.total_pages, page.has_next) == (
        50,
        50,
        60,
        2,
        True,
    )


@pytest.mark.parametrize("mode", ["empty", "refuse"])
def test_a_page_past_the_end(make_sandbox, mode):
    server = make_sandbox(page_past_end=mode, processing_seconds=0.01)
    with make_client(server) as atlas:
        batch = atlas.multiupload(PRODUCT, upload_items(30))[0].batch_id
        server.advance(1)
        if mode == "empty":
            page = atlas.extracts_page(batch, page=9)
            assert (page.items, page.has_next, page.page) == ([], False, 9)
        else:
            with pytest.raises(BadRequestError, match="past the last page"):
                atlas.extracts_page(batch, page=9)
        assert len(atlas.fetch_extracts(batch, per_page=10)) == 30


def test_an_unknown_batch_is_a_bad_request(client):
    with pytest.raises(BadRequestError) as caught:
        client.fetch_extracts("BATCH-NOPE")
    assert caught.value.message == "Atlas answered 400: Invalid batch_id"


# -- faults and retries --------------------------------------------------------------------------


def test_503_on_extracts_is_retried(sandbox, client):
    batch = client.multiupload(PRODUCT, upload_items(2))[0].batch_id
    sandbox.inject("503", "503", path="extracts")
    assert client.extracts_page(batch).page == 1
    assert statuses(sandbox, "extracts") == [503, 503, 200]
    assert client.stats.retries == 2
    assert 0 <= client.stats.waited_seconds <= 2 * FAST.backoff_cap


def test_503_until_retries_run_out_raises_server_error(sandbox, client):
    batch = client.multiupload(PRODUCT, upload_items(2))[0].batch_id
    sandbox.inject(*["503"] * (FAST.max_retries + 1), path="extracts")
    with pytest.raises(ServerError) as caught:
        client.extracts_page(batch)
    assert caught.value.status == 503
    assert "a dependency is down" in caught.value.message
    assert statuses(sandbox, "extracts") == [503] * (FAST.max_retries + 1)
    assert client.stats.errors == {"ServerError": 1}


def test_429_retry_after_is_honoured(make_sandbox):
    server = make_sandbox(retry_after=1)
    with make_client(
        server, retry=RetryPolicy(max_retries=2, backoff_base=0.01, backoff_cap=2.0)
    ) as atlas:
        batch = atlas.multiupload(PRODUCT, upload_items(2))[0].batch_id
        server.inject("429", path="extracts")
        atlas.extracts_page(batch)
        assert atlas.stats.retries == 1
        assert atlas.stats.waited_seconds == 1.0
    refused, answered = log_of(server, "extracts")
    assert (refused["status"], answered["status"]) == (429, 200)
    assert answered["at"] - refused["at"] >= 1.0  # the sandbox saw the pause Atlas asked for


def test_retry_after_is_capped_by_backoff_cap(make_sandbox):
    server = make_sandbox(retry_after=30)
    with make_client(server) as atlas:
        batch = atlas.multiupload(PRODUCT, upload_items(2))[0].batch_id
        server.inject("429", path="extracts")
        atlas.extracts_page(batch)
        assert atlas.stats.waited_seconds == FAST.backoff_cap


def test_429_until_retries_run_out_raises_rate_limited_with_retry_after(make_sandbox):
    server = make_sandbox(retry_after=2)
    with make_client(server, retry=RetryPolicy(max_retries=0)) as atlas:
        batch = atlas.multiupload(PRODUCT, upload_items(2))[0].batch_id
        server.inject("429", path="extracts")
        with pytest.raises(RateLimitedError) as caught:
            atlas.extracts_page(batch)
    assert caught.value.retry_after == 2.0
    assert caught.value.message == "Atlas answered 429: Too many requests. (code 429)"


@pytest.mark.parametrize("fault", ["503", "429"])
def test_an_upload_atlas_refused_is_resent(make_sandbox, fault):
    server = make_sandbox(retry_after=0)
    with make_client(server) as atlas:
        server.inject(fault, path="multiupload")
        receipts = atlas.multiupload(PRODUCT, upload_items(3))
    assert len(receipts) == 3
    assert statuses(server, "multiupload") == [int(fault), 201]
    assert server.accept_counts() == {"doc-0": 1, "doc-1": 1, "doc-2": 1}


@pytest.mark.parametrize("endpoint", ["extracts", "authtoken"])
def test_a_dropped_connection_on_a_read_or_token_request_is_retried(sandbox, client, endpoint):
    batch = client.multiupload(PRODUCT, upload_items(2))[0].batch_id
    sandbox.expire_tokens()  # so the next call mints again
    sandbox.inject("drop", path=endpoint)
    assert client.extracts_page(batch).page == 1
    assert "dropped" in statuses(sandbox, endpoint)
    assert client.stats.retries == 1


@pytest.mark.parametrize(("fault", "accepted"), [("drop", 0), ("drop_after_accept", 1)])
def test_a_dropped_upload_is_outcome_unknown_and_never_resent(sandbox, client, fault, accepted):
    client.authenticate()
    sandbox.inject(fault, path="multiupload")
    with pytest.raises(OutcomeUnknownError) as caught:
        client.multiupload(PRODUCT, upload_items(3))
    error = caught.value
    assert error.retry_safe is False
    assert "may or may not have accepted it" in error.message
    assert "uncertain" in error.user_message()
    assert error.__context__ is None and error.__cause__ is None  # no request (and Token) attached
    assert statuses(sandbox, "multiupload") == ["dropped"]
    assert sum(sandbox.accept_counts().values()) == 3 * accepted
    assert client.stats.retries == 0


def test_an_upload_that_times_out_is_outcome_unknown_and_not_resent(sandbox):
    with make_client(sandbox, read_timeout=0.5) as atlas:
        atlas.authenticate()
        # Held 2.5 s past the read timeout, so a busy machine cannot let the answer in first.
        sandbox.inject("latency:3", path="multiupload")
        with pytest.raises(OutcomeUnknownError, match="did not answer in time"):
            atlas.multiupload(PRODUCT, upload_items(2))
    wait_until(lambda: statuses(sandbox, "multiupload"))
    assert statuses(sandbox, "multiupload") == [201]  # Atlas took it after the client gave up
    assert sandbox.accept_counts() == {"doc-0": 1, "doc-1": 1}


@pytest.mark.parametrize(("retries", "succeeds"), [(0, False), (1, True)])
def test_a_slow_extracts_answer_times_out_and_is_retried(sandbox, retries, succeeds):
    with make_client(sandbox, read_timeout=0.5, retry=RetryPolicy(retries, 0.01, 0.05)) as atlas:
        batch = atlas.multiupload(PRODUCT, upload_items(2))[0].batch_id
        sandbox.inject("latency:1.2", path="extracts")
        if succeeds:
            assert atlas.extracts_page(batch).page == 1
        else:
            with pytest.raises(TransportError, match="did not answer in time") as caught:
                atlas.extracts_page(batch)
            assert type(caught.value) is TransportError
            assert caught.value.retry_safe is True  # a read is harmless to send again
    wait_until(lambda: len(log_of(sandbox, "extracts")) == 1 + retries)


def test_a_refused_connection_is_connect_failed_and_retried_even_for_uploads(make_sandbox):
    server = make_sandbox()
    atlas = make_client(server)
    atlas.authenticate()
    server.stop()  # the port now refuses connections
    with pytest.raises(ConnectFailedError) as caught:
        atlas.multiupload(PRODUCT, upload_items(2))
    atlas.close()
    assert caught.value.retry_safe is True
    assert "the connection was refused" in caught.value.message
    assert atlas.stats.retries == FAST.max_retries
    assert server.accept_counts() == {}


def test_an_unresolvable_host_is_connect_failed():
    with AtlasClient(
        "http://atlas.invalid", "id", "secret", retry=RetryPolicy(max_retries=0)
    ) as atlas:
        with pytest.raises(ConnectFailedError, match="could not be resolved"):
            atlas.authenticate()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_deadline_ends_the_retries_of_a_token_request_to_a_dead_port():
    slow = RetryPolicy(max_retries=50, backoff_base=0.5, backoff_cap=0.5)  # ~12 s of pauses
    with AtlasClient(f"http://127.0.0.1:{_closed_port()}", "id", "secret", retry=slow,
                     connect_timeout=2.0) as atlas:
        started = time.monotonic()
        with pytest.raises(ConnectFailedError, match="the connection was refused"):
            atlas.ensure_token(deadline=started + 1.0)
        # A bound, not a timing: the deadline plus one connect timeout, with a wide margin.
        assert time.monotonic() - started < 1.0 + 2.0 + 3.0
        assert atlas.stats.retries < slow.max_retries


def test_a_deadline_ends_the_retries_of_an_upload_atlas_keeps_refusing(make_sandbox):
    server = make_sandbox(rate_503=1.0, fault_paths=("multiupload",), retry_after=None)
    slow = RetryPolicy(max_retries=40, backoff_base=0.3, backoff_cap=0.3)
    with make_client(server, retry=slow) as atlas:
        started = time.monotonic()
        with pytest.raises(ServerError):
            atlas.multiupload(PRODUCT, upload_items(2), deadline=started + 1.0)
        assert time.monotonic() - started < 1.0 + 5.0 + 3.0
    assert 1 <= len(log_of(server, "multiupload")) < slow.max_retries + 1
    assert server.accept_counts() == {}


@pytest.mark.parametrize(("status", "says"), [
    (403, "answered 403: This client may not use the Bulk API."),
    (404, "answered 404: No such endpoint: /v1/bulk/authtoken"),
    (302, "answered 302, a redirect to https://elsewhere.invalid/v1/bulk/authtoken"),
    (307, "answered 307, a redirect to https://elsewhere.invalid/v1/bulk/authtoken"),
])
def test_a_token_endpoint_giving_no_token_is_a_token_endpoint_error(make_sandbox, status, says):
    server = make_sandbox(token_status=status)
    with make_client(server) as atlas, pytest.raises(TokenEndpointError) as caught:
        atlas.multiupload(PRODUCT, upload_items(2))
    assert says in caught.value.message and caught.value.status == status
    assert "Nothing was sent" in caught.value.user_message()
    assert isinstance(caught.value, AuthError)  # sending stops, as for refused credentials
    assert statuses(server, "authtoken") == [status]  # not retried: it will not change by itself
    assert log_of(server, "multiupload") == []


def test_a_token_with_a_line_break_is_refused_before_anything_is_sent(make_sandbox):
    server = make_sandbox(token_crlf=True)
    with make_client(server) as atlas, pytest.raises(TokenEndpointError) as caught:
        atlas.multiupload(PRODUCT, upload_items(2))
    assert "cannot be sent in an HTTP header" in caught.value.message
    assert "after the request was sent" not in caught.value.user_message()
    assert "X-Injected" not in caught.value.user_message()
    assert log_of(server, "multiupload") == []


def test_a_header_requests_refuses_to_build_is_reported_as_not_sent(sandbox):
    with make_client(sandbox, client_secret="sand\nbox") as atlas:
        with pytest.raises(ConnectFailedError) as caught:
            atlas.authenticate()
    assert caught.value.message == (
        "POST /v1/bulk/authtoken was not sent to Atlas: a header value holds a line break or "
        "another character HTTP does not allow."
    )
    assert caught.value.retry_safe is False  # the same request would fail the same way
    assert sandbox.request_log() == []


# -- threads -------------------------------------------------------------------------------------


def test_one_client_shared_by_many_threads(make_sandbox):
    server = make_sandbox(
        processing_seconds=0.01, rate_503=0.1, rate_429=0.05, retry_after=0, seed=7
    )
    atlas = make_client(
        server, retry=RetryPolicy(max_retries=10, backoff_base=0.001, backoff_cap=0.01), pool_size=8
    )
    uploads = {
        f"w{worker}u{n}": upload_items(10, prefix=f"w{worker}u{n}")
        for worker in range(8)
        for n in range(4)
    }

    def submit(name: str) -> tuple[str, list[Receipt]]:
        return name, atlas.multiupload(PRODUCT, uploads[name])

    with ThreadPoolExecutor(max_workers=8) as pool:
        receipts = dict(pool.map(submit, uploads))
        assert atlas.stats.tokens_minted == 1
        server.advance(5)
        server.expire_tokens()  # every thread meets a 401 at about the same time
        batches = {name: got[0].batch_id for name, got in receipts.items()}
        futures = {
            name: pool.submit(atlas.fetch_extracts, batch, concurrency=3, per_page=4)
            for name, batch in batches.items()
        }
        fetched = {name: future.result() for name, future in futures.items()}
    atlas.close()

    for name, sent in uploads.items():
        assert [r.document_id for r in receipts[name]] == [item.document_id for item in sent]
        assert len({r.batch_id for r in receipts[name]}) == 1
        assert [item["document_id"] for item in fetched[name]] == [
            item.document_id for item in sent
        ]
    assert len({r[0].batch_id for r in receipts.values()}) == len(uploads)
    assert server.accept_counts() == {
        item.document_id: 1 for sent in uploads.values() for item in sent
    }
    assert atlas.stats.tokens_minted == 2
    assert atlas.stats.retries > 0  # the random faults really happened


# -- secrets -------------------------------------------------------------------------------------

SECRET = "Sup3r-Secret-Value-4417"


@pytest.fixture
def secret_sandbox(tmp_path):
    """A sandbox whose client secret is recognisable in any output."""
    server = SandboxServer(
        state_path=tmp_path / "secret.jsonl",
        behaviour=Behaviour(processing_seconds=0.01),
        client_secret=SECRET,
    ).start()
    yield server
    server.stop()


def test_secrets_and_tokens_never_show(secret_sandbox, caplog):
    caplog.set_level(logging.DEBUG)
    server = secret_sandbox
    raised = []
    with make_client(server, client_secret=SECRET + "-wrong") as wrong:
        with pytest.raises(AuthError) as caught:
            wrong.authenticate()
        raised.append(caught.value)
        shown = [repr(wrong)]
    with make_client(
        server, client_secret=SECRET, read_timeout=0.5, retry=RetryPolicy(1, 0.01, 0.02)
    ) as atlas:
        batch = atlas.multiupload(PRODUCT, upload_items(2))[0].batch_id
        for faults, path, call in [
            (("401", "401"), "extracts", lambda: atlas.extracts_page(batch)),
            (("503", "503"), "extracts", lambda: atlas.fetch_extracts(batch)),
            (
                ("latency:1.2",),
                "multiupload",
                lambda: atlas.multiupload(PRODUCT, upload_items(1, "late")),
            ),
            (
                ("drop_after_accept",),
                "multiupload",
                lambda: atlas.multiupload(PRODUCT, upload_items(1, "x")),
            ),
            ((), None, lambda: atlas.extracts_page("BATCH-UNKNOWN")),
        ]:
            server.inject(*faults, path=path)
            with pytest.raises(
                (AuthError, ServerError, OutcomeUnknownError, BadRequestError)
            ) as caught:
                call()
            raised.append(caught.value)
        shown.append(repr(atlas))
        shown.append(repr(atlas.stats))
    assert [type(e).__name__ for e in raised] == [
        "AuthError",
        "AuthError",
        "ServerError",
        "OutcomeUnknownError",
        "OutcomeUnknownError",
        "BadRequestError",
    ]
    for error in raised:
        shown += [
            str(error),
            repr(error),
            error.user_message(),
            getattr(error, "text", ""),
            repr(vars(error)),
        ]
    shown.append(caplog.text)
    assert "/v1/bulk/multiupload" in caplog.text  # the log really recorded the traffic
    for text in shown:
        assert SECRET not in text
        assert not JWT_SHAPED.search(text), text


def test_repr_shows_the_url_and_a_masked_client_id(sandbox):
    with AtlasClient(sandbox.url, "client-1234-WXYZ", SECRET) as atlas:
        assert repr(atlas) == f"AtlasClient(base_url={sandbox.url!r}, client_id='************WXYZ')"


# -- construction --------------------------------------------------------------------------------


def test_from_settings_uses_url_credentials_and_auth_path(sandbox, sandbox_settings):
    settings = sandbox_settings.replace(auth_path="/v3/verification/authtoken", max_retries=0)
    with AtlasClient.from_settings(settings) as atlas:
        assert atlas.authenticate() == 3600.0
        assert atlas.base_url == sandbox.url
    assert [line["path"] for line in sandbox.request_log()] == ["/v3/verification/authtoken"]


def test_from_settings_without_atlas_is_a_config_error():
    with pytest.raises(ConfigError):
        AtlasClient.from_settings(Settings())


@pytest.mark.parametrize(
    ("args", "options"),
    [
        (("api.helloatlas.in", "id", "secret"), {}),
        (("https://api.helloatlas.in", "", "secret"), {}),
        (("https://api.helloatlas.in", "id", ""), {}),
        (("https://api.helloatlas.in", "id", "secret"), {"auth_path": "v1/bulk/authtoken"}),
    ],
)
def test_bad_construction_is_a_config_error(args, options):
    with pytest.raises(ConfigError):
        AtlasClient(*args, **options)
