"""The merge rule: idempotent, commutative, a status only moves up."""

from __future__ import annotations

import itertools

import pytest

from analytics.domain.facts import Line, OrderFact, Status, merge, sales_of

from ..conftest import fact

pytestmark = pytest.mark.unit


def fold(facts: list[OrderFact]) -> OrderFact | None:
    current: OrderFact | None = None
    for f in facts:
        current = merge(current, f)
    return current


@pytest.mark.parametrize("terminal", [Status.CONFIRMED, Status.CANCELLED])
def test_every_arrival_order_and_repetition_gives_the_same_facts(terminal: Status) -> None:
    events = [fact(Status.PLACED), fact(terminal), fact(terminal), fact(Status.PLACED)]
    results = {fold(list(order)) for order in itertools.permutations(events)}
    assert len(results) == 1
    (result,) = results
    assert result is not None
    assert (result.status, result.placed_at, result.settled_at) == (terminal, 100.0, 200.0)


def test_a_placed_arriving_after_the_confirmation_does_not_move_it_back() -> None:
    merged = merge(fact(Status.CONFIRMED), fact(Status.PLACED))
    assert merged.status is Status.CONFIRMED and merged.placed_at == 100.0


def test_an_impossible_confirmed_and_cancelled_pair_resolves_the_same_either_way() -> None:
    a = merge(fact(Status.CONFIRMED), fact(Status.CANCELLED))
    b = merge(fact(Status.CANCELLED), fact(Status.CONFIRMED))
    assert a == b and a.status is Status.CONFIRMED


def test_only_a_confirmed_order_has_sales_summed_per_sku() -> None:
    lines = (Line("A-1", 2, 300), Line("B-1", 1, 50), Line("A-1", 1, 300))
    assert sales_of(fact(Status.PLACED, lines=lines)) == []
    assert sales_of(fact(Status.CANCELLED, lines=lines)) == []
    assert [(s.sku, s.quantity, s.revenue_minor)
            for s in sales_of(fact(Status.CONFIRMED, lines=lines))] == [("A-1", 3, 900),
                                                                         ("B-1", 1, 50)]
