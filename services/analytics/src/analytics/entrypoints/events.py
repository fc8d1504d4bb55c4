"""Orders' events translated to order facts: analytics keeps its own copy of the fields it reads."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

from pydantic import ValidationError

from analytics.domain.facts import Line, OrderFact, Status
from chassis.logging import get_logger
from chassis.messaging import Incoming
from contracts.base import PricedLine
from contracts.orders import OrderCancelled, OrderConfirmed, OrderPlaced

__all__ = ["EVENTS", "OrderEvent", "fact_of", "facts_in"]

log = get_logger(__name__)

OrderEvent = OrderPlaced | OrderConfirmed | OrderCancelled
EVENTS: tuple[type[OrderEvent], ...] = (OrderPlaced, OrderConfirmed, OrderCancelled)
_BY_TYPE: dict[str, type[OrderEvent]] = {event.TYPE: event for event in EVENTS}


def _lines(lines: tuple[PricedLine, ...]) -> tuple[Line, ...]:
    return tuple(Line(line.sku, line.quantity, line.unit_price_minor) for line in lines)


def fact_of(event: OrderEvent) -> OrderFact:
    """What one event tells about its order."""
    if isinstance(event, OrderPlaced):
        status, placed_at, settled_at = Status.PLACED, event.placed_at, None
    elif isinstance(event, OrderConfirmed):
        status, placed_at, settled_at = Status.CONFIRMED, None, event.confirmed_at
    else:
        status, placed_at, settled_at = Status.CANCELLED, None, event.cancelled_at
    return OrderFact(order_id=event.order_id, user_id=event.user_id, status=status,
                     total_minor=event.total_minor, currency=event.currency,
                     lines=_lines(event.lines), placed_at=placed_at, settled_at=settled_at)


async def facts_in(messages: AsyncIterable[Incoming]) -> AsyncIterator[OrderFact]:
    """The facts of stored messages (a replay); ones that are not valid orders events are
    skipped with a warning: the live consumer dead-lettered them too."""
    async for message in messages:
        event_type = _BY_TYPE.get(message.type)
        if event_type is None:
            continue
        try:
            event = event_type.model_validate_json(message.data)
        except ValidationError as exc:
            log.warning("replay skips an invalid event", msg_id=message.id, type=message.type,
                        error=str(exc))
            continue
        yield fact_of(event)
