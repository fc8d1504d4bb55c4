"""Retry maths: full-jitter backoff bounds and the retry budget."""

from __future__ import annotations

import pytest

from chassis.http import IDEMPOTENT_METHODS, RETRYABLE_STATUSES, RetryBudget, backoff

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("retry", "ceiling"), [(1, 0.05), (2, 0.1), (3, 0.2), (5, 0.8),
                                                (6, 1.0), (30, 1.0)])
def test_backoff_is_full_jitter_under_a_capped_exponential(retry: int, ceiling: float) -> None:
    assert backoff(retry, rand=lambda: 0.0) == 0.0
    assert backoff(retry, rand=lambda: 1.0) == pytest.approx(ceiling)
    assert backoff(retry, rand=lambda: 0.5) == pytest.approx(ceiling / 2)


def test_backoff_draws_stay_in_bounds() -> None:
    for retry in range(1, 8):
        for _ in range(200):
            assert 0.0 <= backoff(retry, base=0.05, cap=1.0) <= min(1.0, 0.05 * 2 ** (retry - 1))


def test_only_idempotent_methods_and_gateway_statuses_are_retryable() -> None:
    assert set(IDEMPOTENT_METHODS) == {"GET", "HEAD", "OPTIONS", "PUT", "DELETE"}
    assert "POST" not in IDEMPOTENT_METHODS and "PATCH" not in IDEMPOTENT_METHODS
    assert set(RETRYABLE_STATUSES) == {502, 503, 504}


def test_the_floor_allows_a_few_retries_with_no_traffic() -> None:
    budget = RetryBudget(ratio=0.2, min_retries=3, window=10, clock=Clock())
    assert [budget.try_retry() for _ in range(4)] == [True, True, True, False]


def test_retries_stay_within_the_ratio_of_requests() -> None:
    budget = RetryBudget(ratio=0.2, min_retries=0, window=10, clock=Clock())
    for _ in range(100):
        budget.request()
    granted = sum(budget.try_retry() for _ in range(100))
    assert granted == 20


def test_the_budget_refills_as_the_window_moves_on() -> None:
    clock = Clock()
    budget = RetryBudget(ratio=0.5, min_retries=0, window=10, clock=clock)
    for _ in range(10):
        budget.request()
    assert sum(budget.try_retry() for _ in range(10)) == 5
    clock.now += 5
    assert not budget.try_retry()  # the same window still holds the spent retries
    clock.now += 6  # everything counted above is now older than the window
    assert not budget.try_retry()  # and so are the requests that earned them
    for _ in range(4):
        budget.request()
    assert sum(budget.try_retry() for _ in range(10)) == 2


def test_a_bucket_reused_after_a_full_turn_starts_from_zero() -> None:
    clock = Clock()
    budget = RetryBudget(ratio=1.0, min_retries=0, window=3, clock=clock)
    for _ in range(5):
        budget.request()
    clock.now += 3  # the same bucket index, a later time slot
    assert not budget.try_retry()


def test_requests_within_one_time_slot_and_across_slots_count_where_they_fell() -> None:
    clock = Clock()
    clock.now = 500.2
    budget = RetryBudget(ratio=1.0, min_retries=0, window=3, clock=clock)
    for at, count in ((500.2, 1), (500.9, 1), (501.5, 3), (502.0, 2), (502.9, 2)):
        clock.now = at
        for _ in range(count):
            budget.request()
    clock.now = 503.1  # the slot of 500 is out of the window now, its two requests with it
    assert sum(budget.try_retry() for _ in range(10)) == 7
