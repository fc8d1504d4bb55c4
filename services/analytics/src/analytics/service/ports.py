"""What the analytics use cases need from the outside, as protocols the adapters implement
(``analytics.adapters``: the read models in SQL, the stored events in JetStream; the unit tests
implement them in memory)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from analytics.domain.facts import OrderFact, ProductSale
from analytics.domain.summary import Summary
from chassis.db import UnitOfWork

__all__ = ["AnalyticsUnitOfWork", "EventHistory", "ReadModels"]


class ReadModels(Protocol):
    """Order facts and product sales, seen from inside one transaction."""

    async def merge_fact(self, fact: OrderFact) -> None:
        """Store ``facts.merge(current, fact)`` for its order, atomically (a concurrent merge of
        the same order is not lost)."""
        ...

    async def add_sales(self, sales: Sequence[ProductSale]) -> None:
        """Insert each (order, SKU) unless it is there already."""
        ...

    async def clear(self) -> None:
        """Forget everything (the start of a replay)."""
        ...

    async def summary(self) -> Summary: ...


AnalyticsUnitOfWork = UnitOfWork[ReadModels]


class EventHistory(Protocol):
    """Every orders event stored so far, as the facts it tells."""

    def check(self) -> None:
        """Raise ``StreamUnavailable`` unless the stored events can be read now."""
        ...

    def facts(self) -> AsyncIterator[OrderFact]:
        """The facts of every stored orders event, oldest first, up to the last one stored when
        the reading began (``StreamUnavailable`` if the stream goes away meanwhile)."""
        ...
