"""The circuit breaker's state machine, on an injected clock."""

from __future__ import annotations

import pytest

from chassis.http import BreakerState, CircuitBreaker
from chassis.http.breaker import waited_on_purpose

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock, **kw: float) -> CircuitBreaker:
    options: dict[str, float] = {"window": 10, "min_calls": 4, "failure_ratio": 0.5,
                                 "slow_ratio": 0.5, "slow_seconds": 1.0, "open_seconds": 5.0,
                                 "probes": 2}
    options.update(kw)
    return CircuitBreaker(clock=clock, **options)  # type: ignore[arg-type]


def calls(b: CircuitBreaker, *outcomes: bool, seconds: float = 0.01) -> None:
    for failed in outcomes:
        ticket = b.allow()
        assert ticket
        b.record(ticket, failed=failed, seconds=seconds)


def test_stays_closed_below_the_minimum_number_of_calls() -> None:
    b = breaker(Clock())
    calls(b, True, True, True)
    assert b.state is BreakerState.CLOSED


def test_opens_when_the_failure_ratio_reaches_the_threshold() -> None:
    b = breaker(Clock())
    calls(b, False, False, True)
    assert b.state is BreakerState.CLOSED
    calls(b, True)  # 2 failures in 4 calls: 50 %
    assert b.state is BreakerState.OPEN
    assert not b.allow()


def test_opens_on_slow_calls_even_when_they_succeed() -> None:
    b = breaker(Clock())
    calls(b, False, False)
    calls(b, False, False, seconds=1.5)
    assert b.state is BreakerState.OPEN


def test_the_window_forgets_old_calls() -> None:
    b = breaker(Clock(), window=4, min_calls=4)
    calls(b, True, False, False, False)  # 25 %
    calls(b, True)  # the first failure fell out: still 25 %
    assert b.state is BreakerState.CLOSED


def test_a_full_window_of_good_calls_still_opens_on_failures_that_follow() -> None:
    # a window full of good calls is not counted again call by call (the hot path): the
    # failures that come next must still be weighed against a full window
    b = breaker(Clock(), window=4, min_calls=4)
    calls(b, *[False] * 50)
    calls(b, True)  # 1 in 4
    assert b.state is BreakerState.CLOSED
    calls(b, True)  # 2 in 4: 50 %
    assert b.state is BreakerState.OPEN


def test_fails_fast_while_open_then_lets_probes_through() -> None:
    clock = Clock()
    b = breaker(clock)
    calls(b, True, True, True, True)
    assert b.state is BreakerState.OPEN
    clock.now += 4.0
    assert not b.allow()
    assert b.retry_after() == pytest.approx(1.0)
    clock.now += 1.0
    assert b.allow() and b.allow()  # two probes
    assert b.state is BreakerState.HALF_OPEN
    assert not b.allow()  # nothing else while they are out


def test_probe_successes_close_it_with_a_clean_window() -> None:
    clock = Clock()
    b = breaker(clock)
    calls(b, True, True, True, True)
    clock.now += 5.0
    calls(b, False)
    assert b.state is BreakerState.HALF_OPEN
    calls(b, False)
    assert b.state is BreakerState.CLOSED
    calls(b, True, True, True)  # the old failures are gone: below min_calls again
    assert b.state is BreakerState.CLOSED


def test_a_failed_probe_opens_it_again() -> None:
    clock = Clock()
    b = breaker(clock)
    calls(b, True, True, True, True)
    clock.now += 5.0
    calls(b, True)
    assert b.state is BreakerState.OPEN
    assert not b.allow()
    assert b.retry_after() == pytest.approx(5.0)


def test_a_slow_probe_counts_as_a_failure() -> None:
    clock = Clock()
    b = breaker(clock)
    calls(b, True, True, True, True)
    clock.now += 5.0
    calls(b, False, seconds=2.0)
    assert b.state is BreakerState.OPEN


def test_a_released_probe_frees_its_slot() -> None:
    clock = Clock()
    b = breaker(clock, probes=1)
    calls(b, True, True, True, True)
    clock.now += 5.0
    ticket = b.allow()
    assert ticket
    assert not b.allow()
    b.release(ticket)
    assert b.allow()


def test_late_outcomes_do_not_move_an_open_breaker() -> None:
    clock = Clock()
    b = breaker(clock)
    tickets = [b.allow() for _ in range(5)]
    for ticket in tickets[:4]:
        assert ticket
        b.record(ticket, failed=True, seconds=0.0)
    assert b.state is BreakerState.OPEN
    assert tickets[4]
    b.record(tickets[4], failed=False, seconds=0.0)
    assert b.state is BreakerState.OPEN and not b.allow()


def test_only_the_probes_decide_in_half_open() -> None:
    # issue 10 item 18: calls admitted while closed end while half-open; their outcomes must
    # neither close the breaker nor reopen it, nor take the probes' slots
    clock = Clock()
    b = breaker(clock, probes=1)
    late_good, late_bad = b.allow(), b.allow()
    assert late_good and late_bad
    calls(b, True, True, True, True)
    clock.now += 5.0
    probe = b.allow()
    assert probe and b.state is BreakerState.HALF_OPEN
    b.record(late_good, failed=False, seconds=0.01)
    assert b.state is BreakerState.HALF_OPEN  # not closed by a call the probe did not make
    b.record(late_bad, failed=True, seconds=0.01)
    assert b.state is BreakerState.HALF_OPEN  # nor reopened
    b.release(late_good)
    assert not b.allow()  # the probe's slot is still taken
    b.record(probe, failed=False, seconds=0.01)
    assert b.state is BreakerState.CLOSED


def test_outcomes_from_before_a_close_do_not_weigh_in_the_new_window() -> None:
    clock = Clock()
    b = breaker(clock, probes=1)
    stale = [b.allow() for _ in range(4)]
    calls(b, True, True, True, True)
    clock.now += 5.0
    calls(b, False)
    assert b.state is BreakerState.CLOSED
    for ticket in stale:
        assert ticket
        b.record(ticket, failed=True, seconds=0.01)
    assert b.state is BreakerState.CLOSED  # the window a close emptied stays empty of them


@pytest.mark.parametrize(("value", "waited"), [
    (None, False), ("", False), ("return=minimal", False), ("wait=10", True), (b"wait=10", True),
    ("return=minimal, wait=3", True), (" Wait=3", True), ("waiting-room=1", False)])
def test_an_answer_that_waited_as_asked_says_so(value: str | bytes | None, waited: bool) -> None:
    assert waited_on_purpose(value) is waited
