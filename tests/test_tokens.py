"""The token cache: minted once, renewed before expiry or after a 401, one minting thread at a time."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from atlas_core.client.tokens import TokenCache
from atlas_core.errors import ConnectFailedError


class Minter:
    """Stands in for Atlas's token endpoint: numbered tokens with a fixed lifetime."""

    def __init__(self, lifetime: float = 3600.0, pause: float = 0.0) -> None:
        self.lifetime = lifetime
        self.pause = pause
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, deadline: float | None = None) -> tuple[str, float]:
        with self._lock:
            self.calls += 1
            number = self.calls
        time.sleep(self.pause)  # widens the window in which other threads could mint too
        return f"token-{number}", self.lifetime


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_first_get_mints_and_later_gets_reuse():
    minter = Minter()
    cache = TokenCache(minter, margin=60)
    assert [cache.get() for _ in range(5)] == ["token-1"] * 5
    assert minter.calls == 1


@pytest.mark.parametrize(
    ("lifetime", "margin", "still_valid_at", "renewed_at"),
    [(3600, 60, 3539.9, 3540.0), (10, 60, 4.9, 5.0), (100, 0, 99.9, 100.0)],
)
def test_a_token_is_renewed_margin_seconds_early_at_most_half_its_life(
    lifetime, margin, still_valid_at, renewed_at
):
    minter, clock = Minter(lifetime), Clock()
    cache = TokenCache(minter, margin=margin, clock=clock)
    cache.get()
    clock.now = still_valid_at
    assert cache.get() == "token-1"
    clock.now = renewed_at
    assert cache.get() == "token-2"


def test_renew_replaces_the_refused_token_only_once():
    minter = Minter()
    cache = TokenCache(minter, margin=60)
    refused = cache.get()
    assert cache.renew(refused) == "token-2"
    assert cache.renew(refused) == "token-2"  # another thread already replaced it
    assert cache.renew("token-2") == "token-3"
    assert minter.calls == 3


def test_only_one_thread_mints_and_the_others_reuse_its_token():
    minter = Minter(pause=0.05)
    cache = TokenCache(minter, margin=60)
    with ThreadPoolExecutor(max_workers=16) as pool:
        tokens = list(pool.map(lambda _: cache.get(), range(64)))
    assert set(tokens) == {"token-1"}
    assert minter.calls == 1
    with ThreadPoolExecutor(max_workers=16) as pool:
        renewed = list(pool.map(lambda _: cache.renew("token-1"), range(64)))
    assert set(renewed) == {"token-2"}
    assert minter.calls == 2


def test_mint_now_forget_and_the_recent_tokens_kept_for_redaction():
    minter = Minter(lifetime=120)
    cache = TokenCache(minter, margin=60)
    assert [cache.mint_now() for _ in range(5)] == [120.0] * 5
    assert cache.secrets() == ("token-2", "token-3", "token-4", "token-5")
    cache.forget()
    assert cache.get() == "token-6"


def test_a_failed_mint_leaves_no_token_and_the_next_get_tries_again():
    calls = []

    def mint(deadline: float | None = None) -> tuple[str, float]:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Atlas is down")
        return "token-ok", 3600.0

    cache = TokenCache(mint, margin=60)
    with pytest.raises(RuntimeError):
        cache.get()
    assert cache.get() == "token-ok"


def test_threads_queued_behind_a_failing_mint_share_its_failure_instead_of_minting_again():
    calls: list[float | None] = []
    arrived = threading.Barrier(16)

    def mint(deadline: float | None = None) -> tuple[str, float]:
        calls.append(deadline)
        time.sleep(0.5)  # the other threads reach the lock meanwhile
        raise ConnectFailedError("Could not connect to Atlas at http://127.0.0.1:9: refused.")

    cache = TokenCache(mint, margin=60)

    def get() -> BaseException | None:
        arrived.wait()
        try:
            cache.get(deadline=123.0)
        except ConnectFailedError as exc:
            return exc
        return None

    with ThreadPoolExecutor(max_workers=16) as pool:
        failures = list(pool.map(lambda _: get(), range(16)))
    assert all(isinstance(f, ConnectFailedError) for f in failures)
    assert calls == [123.0]  # one token request for sixteen waiting threads, with their deadline
    with pytest.raises(ConnectFailedError):
        cache.renew("token-x")  # a caller arriving after the failure tries afresh
    assert len(calls) == 2
