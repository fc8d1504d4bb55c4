"""In-memory read models keeping the port's contract (the merge done by the domain rule)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from analytics.domain.facts import OrderFact, ProductSale, merge
from analytics.domain.summary import Summary, summarize
from analytics.service.ports import ReadModels


class InMemoryReadModels:
    def __init__(self) -> None:
        self.facts: dict[str, OrderFact] = {}
        self.sales: dict[tuple[str, str], ProductSale] = {}
        self.transactions = 0

    async def merge_fact(self, fact: OrderFact) -> None:
        self.facts[fact.order_id] = merge(self.facts.get(fact.order_id), fact)

    async def add_sales(self, sales: Sequence[ProductSale]) -> None:
        for sale in sales:
            self.sales.setdefault((sale.order_id, sale.sku), sale)

    async def clear(self) -> None:
        self.facts.clear()
        self.sales.clear()

    async def summary(self) -> Summary:
        return summarize(self.facts.values(), self.sales.values())

    @asynccontextmanager
    async def transaction(self, *, readonly: bool = False) -> AsyncIterator[ReadModels]:
        self.transactions += 1
        yield self
