"""Placing an order: check out the caller's cart, once per idempotency key."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from chassis import clock
from chassis.ids import new_id
from chassis.logging import get_logger
from chassis.tracing import inject
from contracts import PricedLine
from contracts.orders import OrderPlaced
from orders.domain import saga as machine
from orders.domain.errors import CartAlreadyOrdered, CartUnavailable, EmptyCart, IdempotencyKeyReused
from orders.domain.order import Order
from orders.domain.saga import Status
from orders.service.ports import CartReader, OrdersUnitOfWork, SagaRecord
from orders.service.saga_runner import SagaRunner, journal_entry

__all__ = ["Placed", "place_order", "request_hash"]

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Placed:
    order: Order
    created: bool  # False: the same request was made before, this is its order


def request_hash(card_token: str) -> str:
    return hashlib.sha256(card_token.encode()).hexdigest()[:32]


async def _existing(uow: OrdersUnitOfWork, user_id: str, key: str, digest: str) -> Placed | None:
    async with uow(readonly=True) as orders:
        found = await orders.find_by_key(user_id, key)
    if found is None:
        return None
    order, their_digest = found
    if their_digest != digest:
        raise IdempotencyKeyReused(key)
    return Placed(order, created=False)


async def place_order(uow: OrdersUnitOfWork, carts: CartReader, runner: SagaRunner, *,
                      user_id: str, idempotency_key: str, card_token: str) -> Placed:
    """Check out ``user_id``'s cart: the order and the saga's first command in one transaction.
    The same key with the same request returns the order it placed; with another request it
    is refused (``IdempotencyKeyReused``).

    The key is not looked up first: a retry is rare, and the unique (user, key) index settles it
    at the insert, so a checkout costs one transaction less. Only when the cart cannot give a
    new order (empty — it was cleared by the first one — or unavailable) is the key looked up,
    so a retry still gets its order. The insert is refused, too, when an order not CANCELLED
    was taken from the same version of the cart (another key, before the cart applied that
    order's confirmation): ``CartAlreadyOrdered``, naming that order."""
    digest = request_hash(card_token)
    try:
        cart = await carts.priced_cart(user_id)  # network: outside any transaction
    except CartUnavailable:
        if (again := await _existing(uow, user_id, idempotency_key, digest)) is not None:
            return again
        raise
    if not cart.lines:
        if (again := await _existing(uow, user_id, idempotency_key, digest)) is not None:
            return again
        raise EmptyCart(user_id)
    now = clock.time()
    order_id = new_id()
    order = Order(id=order_id, user_id=user_id, status=Status.PENDING,
                  total_minor=cart.total_minor, currency=cart.currency, lines=cart.lines,
                  reason="", created_at=now, updated_at=now)
    start = machine.begin(order_id, now, runner.deadlines)
    carrier: dict[str, str] = {}
    inject(carrier)  # the request's trace, for the saga's later deadline work
    record = SagaRecord(saga=start.saga, user_id=user_id, total_minor=cart.total_minor,
                        currency=cart.currency, lines=cart.lines, card_token=card_token,
                        created_at=now, trace_parent=carrier.get("traceparent", ""),
                        cart_version=cart.version)
    async with uow() as orders:
        if not await orders.insert(order, start.saga, idempotency_key=idempotency_key,
                                   request_hash=digest, card_token=card_token,
                                   trace_parent=record.trace_parent,
                                   journal=journal_entry(record, start, now),
                                   cart_version=cart.version):
            inserted = False
        else:
            inserted = True
            orders.publish(OrderPlaced(order_id=order_id, user_id=user_id, lines=tuple(
                PricedLine(sku=x.sku, quantity=x.quantity, unit_price_minor=x.unit_price_minor,
                           name=x.name) for x in cart.lines), total_minor=cart.total_minor,
                currency=cart.currency, placed_at=now),
                msg_id=f"{order_id}.placed", correlation_id=order_id)
            await runner.apply(orders, record, start, now, stored=True)
            orders.after_commit(runner.metrics.placed)
    if not inserted:  # the key was used before (a retry, or a concurrent request), or the cart
        again = await _existing(uow, user_id, idempotency_key, digest)
        if again is not None:
            return again
        if cart.version is None:  # neither: no other uniqueness can refuse the order
            raise AssertionError(f"order {order_id} was not stored, and nothing conflicts")
        async with uow(readonly=True) as orders:
            taken = await orders.find_by_cart(user_id, cart.version)
        raise CartAlreadyOrdered(taken.id if taken is not None else None)
    log.info("order placed", order_id=order_id, total_minor=cart.total_minor,
             lines=len(cart.lines))
    return Placed(order, created=True)
