"""Login throttling (domain/throttle.py): when a key locks and for how long."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from identity.domain.throttle import FailureCount, ThrottlePolicy, retry_after

pytestmark = pytest.mark.unit

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

POLICY = ThrottlePolicy(max_failures=3, window=timedelta(seconds=300),
                        lockout=timedelta(seconds=60))


def test_fewer_failures_than_the_limit_never_lock() -> None:
    assert retry_after(FailureCount(0, None), POLICY, T0) is None
    assert retry_after(FailureCount(2, T0), POLICY, T0) is None


def test_reaching_the_limit_locks_for_the_lockout_after_the_latest_failure() -> None:
    assert retry_after(FailureCount(3, T0), POLICY, T0) == 60
    assert retry_after(FailureCount(3, T0), POLICY, T0 + timedelta(seconds=59.2)) == 1
    assert retry_after(FailureCount(5, T0), POLICY, T0 + timedelta(seconds=10)) == 50


def test_the_lock_ends_after_the_lockout() -> None:
    assert retry_after(FailureCount(3, T0), POLICY, T0 + timedelta(seconds=60)) is None


def test_retry_after_rounds_up_so_a_client_never_comes_back_too_early() -> None:
    assert retry_after(FailureCount(3, T0), POLICY, T0 + timedelta(seconds=0.5)) == 60


def test_the_window_starts_window_seconds_ago() -> None:
    assert POLICY.window_start(T0) == T0 - timedelta(seconds=300)
