"""The stored orders events, read back from the JetStream stream for a replay."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator

import msgspec
import nats.errors

from analytics.adapters.events import FACT_OF
from analytics.domain.errors import ReplayIncomplete, StreamUnavailable
from analytics.domain.facts import OrderFact
from analytics.service.ports import EventHistory
from chassis.broker import Broker
from chassis.logging import get_logger
from chassis.messaging import HistoryIncomplete, Incoming, history
from contracts import decode

__all__ = ["StreamHistory", "facts_in"]

log = get_logger(__name__)

_BY_TYPE = {contract.TYPE: (contract, translate) for contract, translate in FACT_OF.items()}


async def facts_in(messages: AsyncIterable[Incoming]) -> AsyncIterator[OrderFact]:
    """The facts of stored messages; ones that are not valid orders events are skipped with a
    warning (the live consumer dead-lettered them too)."""
    async for message in messages:
        known = _BY_TYPE.get(message.type)
        if known is None:
            continue
        contract, translate = known
        try:
            event = decode(message.data, contract)
        except msgspec.DecodeError as exc:
            log.warning("replay skips an invalid event", msg_id=message.id, type=message.type,
                        error=str(exc))
            continue
        yield translate(event)


class StreamHistory(EventHistory):
    """Orders' events in the stream, through the process's broker connection."""

    def __init__(self, broker: Broker) -> None:
        self._broker = broker

    def check(self) -> None:
        if not self._broker.is_connected:
            raise StreamUnavailable("not connected to the message broker")

    async def facts(self) -> AsyncIterator[OrderFact]:
        try:
            async for fact in facts_in(history(self._broker, FACT_OF)):
                yield fact
        except HistoryIncomplete as exc:
            raise ReplayIncomplete(f"the stream stalled before its end: {exc}") from exc
        except (ConnectionError, nats.errors.Error) as exc:
            raise StreamUnavailable(f"the stream could not be read: {exc}") from exc
