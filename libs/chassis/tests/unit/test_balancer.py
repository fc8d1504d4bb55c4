from dataclasses import dataclass

import pytest

from chassis.discovery import LeastOutstanding, RoundRobin

pytestmark = pytest.mark.unit


@dataclass(frozen=True)
class Inst:
    instance_id: str


A, B, C = Inst("a"), Inst("b"), Inst("c")


def test_round_robin_takes_each_instance_in_turn() -> None:
    rr = RoundRobin()
    assert [rr.pick([A, B, C]) for _ in range(6)] == [A, B, C, A, B, C]


def test_balancers_return_none_without_candidates() -> None:
    assert RoundRobin().pick([]) is None
    assert LeastOutstanding().pick([]) is None


def test_least_outstanding_avoids_the_busy_instance() -> None:
    lo = LeastOutstanding()
    lo.started("a")
    lo.started("a")
    lo.started("b")
    assert lo.pick([A, B, C]) == C
    lo.started("c")
    lo.started("c")
    assert lo.pick([A, B, C]) == B
    for _ in range(2):
        lo.finished("a")
    assert lo.pick([A, B, C]) == A


def test_least_outstanding_spreads_an_idle_pool() -> None:
    lo = LeastOutstanding()
    assert {lo.pick([A, B, C]) for _ in range(3)} == {A, B, C}
