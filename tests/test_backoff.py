"""The one backoff formula, and the schedules that are built on it."""

from __future__ import annotations

import pytest

from atlas_core.backoff import backoff_delay
from atlas_core.client.retrying import RetryPolicy
from atlas_core.engine.submitting import requeue_delay
from atlas_core.errors import RateLimitedError, ServerError
from atlas_core.ledger import poll_delay
from atlas_core.ledger.batches import POLL_BASE, POLL_CAP


@pytest.mark.parametrize(
    ("step", "expected"),
    [(0, 0.5), (1, 1.0), (2, 2.0), (5, 16.0), (6, 30.0), (7, 30.0), (-3, 0.5)],
)
def test_the_delay_doubles_from_the_base_up_to_the_cap(step, expected):
    assert backoff_delay(step, 0.5, 30.0) == expected


@pytest.mark.parametrize("step", [64, 1_100, 10**9])
def test_a_huge_step_gives_the_cap_without_overflowing(step):
    assert backoff_delay(step, 0.5, 30.0) == 30.0


@pytest.mark.parametrize(("base", "cap"), [(0.0, 30.0), (5.0, 0.0), (0.0, 0.0)])
def test_a_zero_base_or_cap_waits_nothing(base, cap):
    assert backoff_delay(3, base, cap) == 0.0


@pytest.mark.parametrize("step", range(0, 20))
def test_batch_polls_back_off_on_the_same_formula(step):
    assert poll_delay(step) == backoff_delay(step, POLL_BASE, POLL_CAP)


@pytest.mark.parametrize("attempts", [0, 1, 2, 3, 7, 40, 5_000])
def test_requeued_chunks_back_off_on_the_same_formula(attempts):
    """A chunk's first attempt waits the base; thousands of attempts wait the cap, no overflow."""
    busy = ServerError("Atlas answered 503.", status=503)
    assert requeue_delay(attempts, busy, 0.5, 30.0) == backoff_delay(attempts - 1, 0.5, 30.0)


def test_retry_after_still_wins_for_a_requeued_chunk():
    throttled = RateLimitedError("Atlas answered 429.", status=429, retry_after=12.0)
    assert requeue_delay(1, throttled, 0.5, 30.0) == 12.0


@pytest.mark.parametrize("retry_number", [0, 1, 4, 9, 5_000])
def test_request_retries_jitter_under_the_same_formula(retry_number):
    ceiling = backoff_delay(retry_number, 0.5, 10.0)
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=10.0)
    assert all(0.0 <= policy.delay(retry_number) <= ceiling for _ in range(200))
