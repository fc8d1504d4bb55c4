"""Placing an order (service/checkout.py) against in-memory fakes."""

from __future__ import annotations

import pytest

from contracts.inventory import ReserveStock
from contracts.orders import OrderPlaced
from orders.domain.errors import CartAlreadyOrdered, CartUnavailable, EmptyCart, IdempotencyKeyReused
from orders.domain.saga import Status
from orders.service.checkout import place_order
from orders.service.saga_runner import SagaRunner

from .conftest import LAMP, FakeCarts, FakeMetrics, FakeUnitOfWork

pytestmark = pytest.mark.unit


async def place(uow: FakeUnitOfWork, carts: FakeCarts, runner: SagaRunner, key: str = "k1",
                card: str = "tok_visa", user: str = "u1"):  # type: ignore[no-untyped-def]
    return await place_order(uow, carts, runner, user_id=user, idempotency_key=key,
                             card_token=card)


async def test_places_a_pending_order_and_asks_inventory_for_the_stock(
        uow: FakeUnitOfWork, carts: FakeCarts, runner: SagaRunner,
        metrics: FakeMetrics) -> None:
    carts.lines["u1"] = (LAMP,)
    placed = await place(uow, carts, runner)
    assert placed.created and placed.order.status is Status.PENDING
    assert placed.order.total_minor == 2500 and placed.order.lines == (LAMP,)
    published = [(type(m), msg_id) for m, msg_id in uow.state.published]
    oid = placed.order.id
    assert published == [(OrderPlaced, f"{oid}.placed"), (ReserveStock, f"{oid}.reserve")]
    reserve = uow.state.published[1][0]
    assert isinstance(reserve, ReserveStock) and reserve.idempotency_key == f"{oid}:reserve"
    assert [note for _, _, note in uow.state.journal] == ["placed; reserving stock"]
    assert metrics.events == ["placed"]


async def test_the_same_key_and_request_returns_the_first_order(
        uow: FakeUnitOfWork, carts: FakeCarts, runner: SagaRunner) -> None:
    carts.lines["u1"] = (LAMP,)
    first = await place(uow, carts, runner)
    again = await place(uow, carts, runner)
    assert not again.created and again.order.id == first.order.id
    assert len(uow.state.orders) == 1 and len(uow.state.published) == 2


async def test_a_retry_after_the_cart_was_cleared_or_while_it_is_down_gets_its_order(
        uow: FakeUnitOfWork, carts: FakeCarts, runner: SagaRunner) -> None:
    carts.lines["u1"] = (LAMP,)
    first = await place(uow, carts, runner)
    carts.lines["u1"] = ()  # the confirmation cleared the ordered lines
    assert (await place(uow, carts, runner)).order.id == first.order.id

    class DownCarts:
        async def priced_cart(self, user_id: str) -> None:
            raise CartUnavailable("cart is down")

    again = await place_order(uow, DownCarts(), runner, user_id="u1",  # type: ignore[arg-type]
                              idempotency_key="k1", card_token="tok_visa")
    assert again.order.id == first.order.id and not again.created


async def test_a_new_order_takes_one_transaction(uow: FakeUnitOfWork, carts: FakeCarts,
                                                 runner: SagaRunner) -> None:
    carts.lines["u1"] = (LAMP,)
    await place(uow, carts, runner)
    assert uow.transactions == 1


async def test_the_same_key_for_another_request_is_refused(
        uow: FakeUnitOfWork, carts: FakeCarts, runner: SagaRunner) -> None:
    carts.lines["u1"] = (LAMP,)
    await place(uow, carts, runner)
    with pytest.raises(IdempotencyKeyReused):
        await place(uow, carts, runner, card="tok_decline")
    assert len(uow.state.orders) == 1


async def test_keys_are_per_user(uow: FakeUnitOfWork, carts: FakeCarts,
                                 runner: SagaRunner) -> None:
    carts.lines.update({"u1": (LAMP,), "u2": (LAMP,)})
    a = await place(uow, carts, runner, user="u1")
    b = await place(uow, carts, runner, user="u2")
    assert a.order.id != b.order.id and b.created


async def test_another_key_for_a_cart_already_ordered_is_refused_naming_that_order(
        uow: FakeUnitOfWork, carts: FakeCarts, runner: SagaRunner) -> None:
    carts.lines["u1"] = (LAMP,)
    carts.versions["u1"] = 1
    first = await place(uow, carts, runner, key="k1")
    with pytest.raises(CartAlreadyOrdered) as refused:  # sent before the cart applied "confirmed"
        await place(uow, carts, runner, key="k2")
    assert refused.value.order_id == first.order.id and first.order.id in str(refused.value)
    assert len(uow.state.orders) == 1 and len(uow.state.published) == 2
    assert (await place(uow, carts, runner, key="k1")).order.id == first.order.id  # a retry
    carts.versions["u1"] = 2  # the shopper changed the cart: a new order
    assert (await place(uow, carts, runner, key="k3")).created


async def test_a_cart_whose_order_was_cancelled_can_be_ordered_again(
        uow: FakeUnitOfWork, carts: FakeCarts, runner: SagaRunner) -> None:
    from dataclasses import replace

    carts.lines["u1"] = (LAMP,)
    carts.versions["u1"] = 1
    first = await place(uow, carts, runner, key="k1")
    stored = uow.state.orders[first.order.id]
    stored.order = replace(stored.order, status=Status.CANCELLED)  # declined: the cart stays
    again = await place(uow, carts, runner, key="k2")
    assert again.created and again.order.id != first.order.id


async def test_an_empty_cart_places_nothing(uow: FakeUnitOfWork, carts: FakeCarts,
                                            runner: SagaRunner) -> None:
    with pytest.raises(EmptyCart):
        await place(uow, carts, runner)
    assert uow.state.orders == {} and uow.state.published == []


async def test_an_unreadable_cart_places_nothing(uow: FakeUnitOfWork, runner: SagaRunner) -> None:
    class DownCarts:
        async def priced_cart(self, user_id: str) -> None:
            raise CartUnavailable("cart is down")

    with pytest.raises(CartUnavailable):
        await place_order(uow, DownCarts(), runner, user_id="u1",  # type: ignore[arg-type]
                          idempotency_key="k1", card_token="tok_visa")
    assert uow.state.orders == {} and uow.state.published == []


async def test_a_skewed_clock_dates_the_order_and_its_step_deadline_by_it(
        uow: FakeUnitOfWork, carts: FakeCarts, runner: SagaRunner) -> None:
    import time

    from chassis import clock

    carts.lines["u1"] = (LAMP,)
    clock.set_skew(3600.0)  # this orders instance runs an hour ahead (clock_skew)
    try:
        placed = await place(uow, carts, runner)
    finally:
        clock.set_skew(0.0)
    host = time.time()
    assert host + 3500 < placed.order.created_at < host + 3700
    deadline = uow.state.orders[placed.order.id].record.saga.deadline_at
    assert deadline > placed.order.created_at  # stored as wall time on the skewed clock
