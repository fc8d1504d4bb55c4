"""Stock rules in plain Python: demand per SKU, all-or-nothing shortfalls, reservation answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inventory.domain.errors import InvalidQuantity, InvalidSku
from inventory.domain.reservations import Reservation, Status
from inventory.domain.stock import (
    INSUFFICIENT_STOCK,
    UNKNOWN_SKU,
    Rejection,
    StockLevel,
    is_sku,
    merge_lines,
    require_sku,
    shortfall,
)

pytestmark = pytest.mark.unit

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def test_lines_with_the_same_sku_are_one_demand_for_the_sum() -> None:
    assert merge_lines([("A-1", 2), ("B-1", 1), ("A-1", 3)]) == {"A-1": 5, "B-1": 1}


@pytest.mark.parametrize("lines", [[], [("A-1", 0)], [("A-1", -2)]])
def test_empty_or_non_positive_lines_are_refused(lines: list[tuple[str, int]]) -> None:
    with pytest.raises(InvalidQuantity):
        merge_lines(lines)


def test_enough_of_everything_is_no_shortfall() -> None:
    assert shortfall({"A-1": 5, "B-1": 1}, {"A-1": 5, "B-1": 9}) is None


def test_one_short_line_rejects_the_whole_order_naming_only_that_sku() -> None:
    assert shortfall({"A-1": 6, "B-1": 1}, {"A-1": 5, "B-1": 9}) == Rejection(
        INSUFFICIENT_STOCK, ("A-1",))


def test_unknown_skus_are_reported_before_short_ones() -> None:
    assert shortfall({"A-1": 6, "Z-9": 1, "Y-1": 1}, {"A-1": 5}) == Rejection(
        UNKNOWN_SKU, ("Y-1", "Z-9"))


def test_stock_is_consistent_only_when_balanced_and_not_negative() -> None:
    assert StockLevel("A", 10, 5, 3, 2).is_consistent
    assert not StockLevel("A", 10, 5, 3, 3).is_consistent
    assert not StockLevel("A", 0, 1, -1, 0).is_consistent


@pytest.mark.parametrize(("status", "answer"), [
    (Status.ACTIVE, None), (Status.COMMITTED, None),
    (Status.RELEASED, Rejection("released")), (Status.EXPIRED, Rejection("expired")),
])
def test_a_repeated_reserve_gets_the_answer_of_the_reservation_state(
        status: Status, answer: Rejection | None) -> None:
    r = Reservation("o-1", status, "o-1:reserve", NOW, NOW, {"A-1": 1})
    assert r.answer() == answer


def test_a_rejected_reservation_answers_with_its_reason() -> None:
    r = Reservation.rejected("o-1", "o-1:reserve", {"A-1": 1}, NOW,
                             Rejection(INSUFFICIENT_STOCK, ("A-1",)))
    assert r.status is Status.REJECTED and r.answer() == Rejection(INSUFFICIENT_STOCK)


def test_a_tombstone_holds_nothing_and_refuses_as_released() -> None:
    t = Reservation.tombstone("o-1", "o-1:release", NOW)
    assert (t.status, dict(t.lines), t.expires_at, t.holds_stock) == (
        Status.RELEASED, {}, None, False)
    assert t.answer() == Rejection("released")


def test_a_hold_expires_after_its_ttl() -> None:
    r = Reservation.hold("o-1", "k", {"A-1": 1}, NOW, timedelta(seconds=900))
    assert r.expires_at == NOW + timedelta(seconds=900) and r.holds_stock


@pytest.mark.parametrize("text", ["KIT-0001", "A", "9-X"])
def test_sku_shapes_accepted(text: str) -> None:
    assert is_sku(text) and require_sku(text) == text


@pytest.mark.parametrize("text", ["", "-A", "kit-1", "A B", "A" * 33, "A\n"])
def test_sku_shapes_refused(text: str) -> None:
    assert not is_sku(text)
    with pytest.raises(InvalidSku):
        require_sku(text)
