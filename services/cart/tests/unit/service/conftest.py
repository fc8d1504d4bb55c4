"""In-memory stand-ins for what the cart's use cases need (no sockets, no files): carts behind a
unit of work that counts its transactions, a catalog that counts its lookups, a clock."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime

import pytest

from cart.domain.cart import Cart, CartLine
from cart.domain.pricing import Price, PriceCache
from cart.service.ports import ADD_KEYS_KEPT, PriceLookup, PriceSourceUnavailable
from cart.service.pricing import Pricer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeCatalog:
    """Prices (and names) by SKU; ``down`` makes lookups fail; ``asked`` records them."""

    def __init__(self, prices: dict[str, int], currency: str = "EUR") -> None:
        self.prices = prices
        self.currency: dict[str, str] = {}
        self.default_currency = currency
        self.down = False
        self.asked: list[list[str]] = []

    async def look_up(self, skus: Sequence[str], *, deadline: float | None = None) -> PriceLookup:
        self.asked.append(list(skus))
        if self.down:
            raise PriceSourceUnavailable("catalog is down")
        return PriceLookup({s: Price(self.prices[s], self.currency.get(s, self.default_currency))
                            for s in skus if s in self.prices},
                           [s for s in skus if s not in self.prices],
                           {s: f"Product {s}" for s in skus if s in self.prices})


@dataclass
class State:
    lines: dict[str, list[CartLine]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    add_keys: dict[tuple[str, str], tuple[datetime, str]] = field(default_factory=dict)


class FakeCarts:
    """A CartRepository over a State, inside one FakeUnitOfWork transaction."""

    def __init__(self, state: State) -> None:
        self.state = state

    async def get(self, user_id: str) -> Cart:
        return Cart(user_id, tuple(self.state.lines.get(user_id, ())),
                    self.state.versions.get(user_id, 0))

    async def touch(self, user_id: str, now: datetime) -> int:
        self.state.versions[user_id] = self.state.versions.get(user_id, 0) + 1
        return self.state.versions[user_id]

    async def lock(self, user_id: str, now: datetime) -> Cart:
        await self.touch(user_id, now)
        return await self.get(user_id)

    async def replace(self, user_id: str, lines: Sequence[CartLine], now: datetime) -> Cart:
        version = (await self.lock(user_id, now)).version
        self.state.lines[user_id] = [replace(line, version=version)
                                     for line in sorted(lines, key=lambda line: line.sku)]
        return await self.get(user_id)

    async def set_quantity(self, user_id: str, sku: str, quantity: int, now: datetime,
                           version: int) -> None:
        lines = self.state.lines.setdefault(user_id, [])
        for i, line in enumerate(lines):
            if line.sku == sku:
                lines[i] = replace(line, quantity=quantity, version=version)
                return
        lines.append(CartLine(sku, quantity, version))

    async def remove(self, user_id: str, skus: Iterable[str]) -> int:
        gone = set(skus)
        before = self.state.lines.get(user_id, [])
        self.state.lines[user_id] = [line for line in before if line.sku not in gone]
        return len(before) - len(self.state.lines[user_id])

    async def remove_unchanged(self, user_id: str, skus: Sequence[str], version: int) -> int:
        before = self.state.lines.get(user_id, [])
        self.state.lines[user_id] = [
            line for line in before
            if not (line.sku in skus and line.version is not None and line.version <= version)]
        return len(before) - len(self.state.lines[user_id])

    async def claim_add_key(self, user_id: str, key: str, request: str,
                            now: datetime) -> str | None:
        if (user_id, key) in self.state.add_keys:
            return self.state.add_keys[user_id, key][1]
        self.state.add_keys = {k: made for k, made in self.state.add_keys.items()
                               if k[0] != user_id or made[0] >= now - ADD_KEYS_KEPT}
        self.state.add_keys[user_id, key] = (now, request)
        return None

    async def take(self, user_id: str, sku: str, quantity: int) -> int:
        lines = self.state.lines.get(user_id, [])
        for i, line in enumerate(lines):
            if line.sku == sku:
                if line.quantity <= quantity:
                    del lines[i]
                else:
                    lines[i] = replace(line, quantity=line.quantity - quantity)
                return 1
        return 0

    async def clear(self, user_id: str) -> int:
        return len(self.state.lines.pop(user_id, []))


class FakeUnitOfWork:
    """Commits by keeping the changes, rolls back on an exception; counts transactions (and,
    of them, the ones that may write)."""

    def __init__(self) -> None:
        self.state = State()
        self.transactions = 0
        self.writes = 0

    @asynccontextmanager
    async def __call__(self, *, readonly: bool = False) -> AsyncIterator[FakeCarts]:
        self.transactions += 1
        self.writes += not readonly
        before = copy.deepcopy(self.state)
        try:
            yield FakeCarts(self.state)
        except BaseException:
            self.state.__dict__.update(before.__dict__)
            raise


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def catalog() -> FakeCatalog:
    return FakeCatalog({"A": 100, "B": 5, "KIT-1": 1250, "KIT-2": 399})


@pytest.fixture
def pricer(catalog: FakeCatalog, clock: Clock) -> Pricer:
    return Pricer(catalog, PriceCache(fresh_seconds=5.0, max_stale_seconds=60.0), clock)


@pytest.fixture
def uow() -> FakeUnitOfWork:
    return FakeUnitOfWork()
