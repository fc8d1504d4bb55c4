"""In-memory stand-ins for what the analytics use cases need (no sockets, no files)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager

import pytest

from analytics.domain.errors import ReplayIncomplete, StreamUnavailable
from analytics.domain.facts import OrderFact, ProductSale, merge
from analytics.domain.summary import Summary, summarize


class InMemoryProjection:
    """One set of read models in memory (the merge done by the domain rule)."""

    def __init__(self) -> None:
        self.facts: dict[str, OrderFact] = {}
        self.sales: dict[tuple[str, str], ProductSale] = {}

    async def merge_facts(self, facts: Sequence[OrderFact]) -> None:
        assert len({f.order_id for f in facts}) == len(facts), "one fact per order"
        for fact in facts:
            self.facts[fact.order_id] = merge(self.facts.get(fact.order_id), fact)

    async def add_sales(self, sales: Sequence[ProductSale]) -> None:
        for sale in sales:
            self.sales.setdefault((sale.order_id, sale.sku), sale)


class InMemoryReadModels(InMemoryProjection):
    """Read models keeping the port's contract, with a rebuild beside them; they are their own
    unit of work and count its transactions."""

    def __init__(self) -> None:
        super().__init__()
        self.rebuilt = InMemoryProjection()
        self.rebuilding: str | None = None  # the running rebuild's token
        self.transactions = 0

    async def merge_facts(self, facts: Sequence[OrderFact]) -> None:
        await super().merge_facts(facts)
        if self.rebuilding:
            await self.rebuilt.merge_facts(facts)

    async def add_sales(self, sales: Sequence[ProductSale]) -> None:
        await super().add_sales(sales)
        if self.rebuilding:
            await self.rebuilt.add_sales(sales)

    def rebuild(self) -> InMemoryProjection:
        return self.rebuilt

    async def start_rebuild(self, token: str) -> None:
        self.rebuilt, self.rebuilding = InMemoryProjection(), token

    async def finish_rebuild(self, token: str) -> bool:
        if self.rebuilding != token:
            return False
        self.facts, self.sales = self.rebuilt.facts, self.rebuilt.sales
        self.rebuilt, self.rebuilding = InMemoryProjection(), None
        return True

    async def abandon_rebuild(self, token: str) -> None:
        if self.rebuilding == token:
            self.rebuilt, self.rebuilding = InMemoryProjection(), None

    async def summary(self) -> Summary:
        return summarize(self.facts.values(), self.sales.values())

    @asynccontextmanager
    async def __call__(self, *, readonly: bool = False) -> AsyncIterator[InMemoryReadModels]:
        self.transactions += 1
        yield self


class FakeHistory:
    """Stored facts; ``gate`` (when set) holds each reading after its first fact, so a test can
    see what happens while a replay is under way; ``available`` False makes it unreadable;
    ``stall_after`` N makes a reading raise ``ReplayIncomplete`` after N facts."""

    def __init__(self, facts: Iterable[OrderFact] = ()) -> None:
        self.stored = list(facts)
        self.available = True
        self.stall_after: int | None = None
        self.gate: asyncio.Event | None = None
        self.readings = 0
        self.reading_now = 0
        self.most_at_once = 0

    def check(self) -> None:
        if not self.available:
            raise StreamUnavailable("the broker is away")

    async def facts(self) -> AsyncIterator[OrderFact]:
        self.readings += 1
        self.reading_now += 1
        self.most_at_once = max(self.most_at_once, self.reading_now)
        try:
            for n, fact in enumerate(self.stored):
                if n == 1 and self.gate is not None:
                    await self.gate.wait()
                if n == self.stall_after:
                    raise ReplayIncomplete("the stream stalled")
                yield fact
        finally:
            self.reading_now -= 1


@pytest.fixture
def models() -> InMemoryReadModels:
    return InMemoryReadModels()
