"""Placing an order: check out the caller's cart, once per idempotency key."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from chassis.ids import new_id
from chassis.logging import get_logger
from chassis.tracing import inject
from contracts import PricedLine
from contracts.orders import OrderPlaced
from orders.domain import saga as machine
from orders.domain.errors import EmptyCart, IdempotencyKeyReused
from orders.domain.order import Order
from orders.domain.saga import Status
from orders.service.ports import CartReader, SagaRecord, UnitOfWork
from orders.service.saga import SagaRunner

__all__ = ["Placed", "place_order", "request_hash"]

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Placed:
    order: Order
    created: bool  # False: the same request was made before, this is its order


def request_hash(card_token: str) -> str:
    return hashlib.sha256(card_token.encode()).hexdigest()[:32]


async def _existing(uow: UnitOfWork, user_id: str, key: str, digest: str) -> Placed | None:
    async with uow() as tx:
        found = await tx.find_by_key(user_id, key)
    if found is None:
        return None
    order, their_digest = found
    if their_digest != digest:
        raise IdempotencyKeyReused(key)
    return Placed(order, created=False)


async def place_order(uow: UnitOfWork, carts: CartReader, runner: SagaRunner, *, user_id: str,
                      idempotency_key: str, card_token: str) -> Placed:
    digest = request_hash(card_token)
    if (again := await _existing(uow, user_id, idempotency_key, digest)) is not None:
        return again
    cart = await carts.priced_cart(user_id)  # network: outside any transaction
    if not cart.lines:
        raise EmptyCart(user_id)
    now = time.time()
    order_id = new_id()
    order = Order(id=order_id, user_id=user_id, status=Status.PENDING,
                  total_minor=cart.total_minor, currency=cart.currency, lines=cart.lines,
                  reason="", created_at=now, updated_at=now)
    start = machine.begin(order_id, now, runner.deadlines)
    carrier: dict[str, str] = {}
    inject(carrier)  # the request's trace, for the saga's later deadline work
    record = SagaRecord(saga=start.saga, user_id=user_id, total_minor=cart.total_minor,
                        currency=cart.currency, lines=cart.lines, card_token=card_token,
                        created_at=now, trace_parent=carrier.get("traceparent", ""))
    async with uow() as tx:
        if not await tx.insert(order, start.saga, idempotency_key=idempotency_key,
                               request_hash=digest, card_token=card_token,
                               trace_parent=record.trace_parent):
            inserted = False
        else:
            inserted = True
            tx.publish(OrderPlaced(order_id=order_id, user_id=user_id, lines=tuple(
                PricedLine(sku=x.sku, quantity=x.quantity, unit_price_minor=x.unit_price_minor,
                           name=x.name) for x in cart.lines), total_minor=cart.total_minor,
                currency=cart.currency, placed_at=now),
                msg_id=f"{order_id}.placed", correlation_id=order_id)
            await runner.apply(tx, record, start, now, stored=True)
            tx.after_commit(runner.metrics.placed)
    if inserted:
        log.info("order placed", order_id=order_id, total_minor=cart.total_minor,
                 lines=len(cart.lines))
    if not inserted:  # a concurrent request with the same key won the race
        again = await _existing(uow, user_id, idempotency_key, digest)
        assert again is not None
        return again
    return Placed(order, created=True)
