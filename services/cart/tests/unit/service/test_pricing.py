"""The pricer on an injected clock: fresh from the cache, refreshed, stale while the catalog is
down, unavailable when nothing is cached; names travel with the prices."""

from __future__ import annotations

import pytest

from cart.domain.errors import PricingUnavailable
from cart.service.pricing import Pricer

from .conftest import Clock, FakeCatalog

pytestmark = pytest.mark.unit


async def test_a_fresh_price_is_used_without_asking_the_catalog(
        pricer: Pricer, catalog: FakeCatalog, clock: Clock) -> None:
    await pricer.quote(["A"])
    clock.now += 4.9
    quotes = await pricer.quote(["A"])
    assert catalog.asked == [["A"]]
    quote = quotes.quotes["A"]
    assert (quote.price.amount_minor, quote.stale, quote.name) == (100, False, "Product A")


async def test_an_old_price_is_refreshed_from_the_catalog(
        pricer: Pricer, catalog: FakeCatalog, clock: Clock) -> None:
    await pricer.quote(["A"])
    catalog.prices["A"] = 120
    clock.now += 5
    quotes = await pricer.quote(["A"])
    assert catalog.asked == [["A"], ["A"]]
    assert quotes.quotes["A"].price.amount_minor == 120


async def test_only_the_prices_not_fresh_are_asked_for(pricer: Pricer,
                                                       catalog: FakeCatalog) -> None:
    await pricer.quote(["A"])
    await pricer.quote(["A", "B", "A"])
    assert catalog.asked == [["A"], ["B"]]


async def test_the_cached_price_is_served_stale_while_the_catalog_is_down(
        pricer: Pricer, catalog: FakeCatalog, clock: Clock) -> None:
    await pricer.quote(["A"])
    catalog.down = True
    clock.now += 30
    quote = (await pricer.quote(["A"])).quotes["A"]
    assert (quote.price.amount_minor, quote.stale, quote.name) == (100, True, "Product A")


async def test_no_price_at_all_and_the_catalog_down_is_pricing_unavailable(
        pricer: Pricer, catalog: FakeCatalog, clock: Clock) -> None:
    await pricer.quote(["A"])
    catalog.down = True
    with pytest.raises(PricingUnavailable, match="B"):
        await pricer.quote(["A", "B"])
    clock.now += 61  # past max_stale_seconds even A is too old to serve
    with pytest.raises(PricingUnavailable):
        await pricer.quote(["A"])


async def test_skus_the_catalog_does_not_sell_are_missing_and_not_cached(
        pricer: Pricer, catalog: FakeCatalog) -> None:
    quotes = await pricer.quote(["A", "NOPE"])
    assert quotes.missing == {"NOPE"} and set(quotes.quotes) == {"A"}
    await pricer.quote(["NOPE"])
    assert catalog.asked == [["A", "NOPE"], ["NOPE"]]
