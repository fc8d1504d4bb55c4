"""What the projection needs from storage. ``analytics.adapters.sql`` implements it in SQL (the
merge done by the database, atomically); the unit tests implement it in memory."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from analytics.domain.facts import OrderFact, ProductSale
from analytics.domain.summary import Summary

__all__ = ["ReadModels", "UnitOfWork"]


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


class UnitOfWork(Protocol):
    def transaction(self, *, readonly: bool = False) -> AbstractAsyncContextManager[ReadModels]: ...
