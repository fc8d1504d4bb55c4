"""What the analytics use cases need from the outside, as protocols the adapters implement
(``analytics.adapters``: the read models in SQL, the stored events in JetStream; the unit tests
implement them in memory)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from analytics.domain.facts import OrderFact, ProductSale
from analytics.domain.summary import Summary
from chassis.db import UnitOfWork

__all__ = ["AnalyticsUnitOfWork", "EventHistory", "Projection", "ReadModels"]


class Projection(Protocol):
    """Where facts are projected: order facts and product sales, inside one transaction."""

    async def merge_facts(self, facts: Sequence[OrderFact]) -> None:
        """Store ``facts.merge(current, fact)`` for each fact's order (at most one fact per
        order), atomically (a concurrent merge of the same order is not lost)."""
        ...

    async def add_sales(self, sales: Sequence[ProductSale]) -> None:
        """Insert each (order, SKU) unless it is there already."""
        ...


class ReadModels(Projection, Protocol):
    """The live read models (what ``merge_facts`` and ``add_sales`` write, and also the rebuild
    beside them while one runs, so that it misses nothing that arrives meanwhile), the summary
    and the rebuild beside them."""

    async def summary(self) -> Summary: ...

    async def start_rebuild(self, token: str) -> None:
        """Empty the rebuild and mark it as running under ``token`` (replacing any other)."""
        ...

    def rebuild(self) -> Projection:
        """The rebuild alone, as a projection (what a replay writes)."""
        ...

    async def finish_rebuild(self, token: str) -> bool:
        """Replace the live read models with the rebuild and end it; False (nothing changed) if
        the running rebuild is not ``token``'s any more."""
        ...

    async def abandon_rebuild(self, token: str) -> None:
        """End ``token``'s rebuild without touching the live read models."""
        ...


AnalyticsUnitOfWork = UnitOfWork[ReadModels]


class EventHistory(Protocol):
    """Every orders event stored so far, as the facts it tells."""

    def check(self) -> None:
        """Raise ``StreamUnavailable`` unless the stored events can be read now."""
        ...

    def facts(self) -> AsyncIterator[OrderFact]:
        """The facts of every stored orders event, oldest first, up to the last one stored when
        the reading began (``StreamUnavailable`` if the stream goes away meanwhile,
        ``ReplayIncomplete`` if it stalls before that last one)."""
        ...
