"""The price cache and the pricer on an injected clock: fresh, refreshed, stale, unavailable."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from cart.domain.errors import PricingUnavailable
from cart.domain.pricing import Price, PriceCache
from cart.service.ports import PriceLookup, PriceSourceUnavailable
from cart.service.pricing import Pricer

pytestmark = pytest.mark.unit


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class FakeCatalog:
    def __init__(self, prices: dict[str, int]) -> None:
        self.prices = prices
        self.down = False
        self.asked: list[list[str]] = []

    async def look_up(self, skus: Sequence[str], *, deadline: float | None = None) -> PriceLookup:
        self.asked.append(list(skus))
        if self.down:
            raise PriceSourceUnavailable("catalog is down")
        return PriceLookup({s: Price(self.prices[s], "EUR") for s in skus if s in self.prices},
                           [s for s in skus if s not in self.prices])


def make(prices: dict[str, int], **cache: float) -> tuple[Pricer, FakeCatalog, Clock]:
    clock, catalog = Clock(), FakeCatalog(prices)
    options = {"fresh_seconds": 5.0, "max_stale_seconds": 60.0} | cache
    return Pricer(catalog, PriceCache(**options), clock), catalog, clock  # type: ignore[arg-type]


def test_the_cache_tells_fresh_from_stale_from_too_old() -> None:
    cache = PriceCache(fresh_seconds=5, max_stale_seconds=60)
    cache.store({"A": Price(1, "EUR")}, now=0)
    assert cache.fresh(["A"], now=4.9) == {"A": Price(1, "EUR")}
    assert cache.fresh(["A"], now=5.0) == {}
    assert cache.stale(["A"], now=59) == {"A": Price(1, "EUR")}
    assert cache.stale(["A"], now=60) == {}


def test_the_cache_is_bounded_oldest_first() -> None:
    cache = PriceCache(fresh_seconds=5, max_stale_seconds=60, max_entries=2)
    cache.store({"A": Price(1, "EUR"), "B": Price(2, "EUR")}, now=0)
    cache.store({"A": Price(1, "EUR")}, now=1)  # refreshed: now the youngest
    cache.store({"C": Price(3, "EUR")}, now=2)
    assert len(cache) == 2 and cache.fresh(["A", "B", "C"], now=2).keys() == {"A", "C"}


async def test_a_fresh_price_is_used_without_asking_the_catalog() -> None:
    pricer, catalog, clock = make({"A": 100})
    await pricer.quote(["A"])
    clock.now += 4.9
    quotes = await pricer.quote(["A"])
    assert catalog.asked == [["A"]]
    assert quotes.quotes["A"].price.amount_minor == 100 and not quotes.quotes["A"].stale


async def test_an_old_price_is_refreshed_from_the_catalog() -> None:
    pricer, catalog, clock = make({"A": 100})
    await pricer.quote(["A"])
    catalog.prices["A"] = 120
    clock.now += 5
    quotes = await pricer.quote(["A"])
    assert catalog.asked == [["A"], ["A"]]
    assert quotes.quotes["A"].price.amount_minor == 120


async def test_only_the_prices_not_fresh_are_asked_for() -> None:
    pricer, catalog, _clock = make({"A": 1, "B": 2})
    await pricer.quote(["A"])
    await pricer.quote(["A", "B"])
    assert catalog.asked == [["A"], ["B"]]


async def test_the_cached_price_is_served_stale_while_the_catalog_is_down() -> None:
    pricer, catalog, clock = make({"A": 100})
    await pricer.quote(["A"])
    catalog.down = True
    clock.now += 30
    quote = (await pricer.quote(["A"])).quotes["A"]
    assert (quote.price.amount_minor, quote.stale) == (100, True)


async def test_no_price_at_all_and_the_catalog_down_is_pricing_unavailable() -> None:
    pricer, catalog, clock = make({"A": 100, "B": 5})
    await pricer.quote(["A"])
    catalog.down = True
    with pytest.raises(PricingUnavailable, match="B"):
        await pricer.quote(["A", "B"])
    clock.now += 61  # past max_stale_seconds even A is too old to serve
    with pytest.raises(PricingUnavailable):
        await pricer.quote(["A"])


async def test_skus_the_catalog_does_not_sell_are_missing_and_not_cached() -> None:
    pricer, _catalog, _ = make({"A": 1})
    quotes = await pricer.quote(["A", "NOPE"])
    assert quotes.missing == {"NOPE"} and set(quotes.quotes) == {"A"}
