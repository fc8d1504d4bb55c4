"""How a cart is priced, and the price cache on explicit times: fresh, stale, too old, bounded."""

from __future__ import annotations

import pytest

from cart.domain.cart import Cart, CartLine
from cart.domain.errors import MixedCurrencies
from cart.domain.pricing import Price, PriceCache, Quote, price_cart

pytestmark = pytest.mark.unit

EUR = "EUR"


def test_a_priced_cart_totals_its_lines_and_flags_stale_prices() -> None:
    cart = Cart("u", (CartLine("A", 2), CartLine("B", 3)), 7)
    priced = price_cart(cart, {"A": Quote(Price(250, EUR), stale=False, name="Lamp"),
                               "B": Quote(Price(100, EUR), stale=True)}, (), default_currency=EUR)
    assert [line.line_total_minor for line in priced.lines] == [500, 300]
    assert [line.name for line in priced.lines] == ["Lamp", ""]
    assert (priced.total_minor, priced.currency, priced.stale, priced.version) == (800, EUR, True, 7)


def test_lines_the_catalog_no_longer_sells_are_listed_apart() -> None:
    cart = Cart("u", (CartLine("A", 1), CartLine("GONE", 1)))
    priced = price_cart(cart, {"A": Quote(Price(5, EUR), False)}, {"GONE"}, default_currency=EUR)
    assert [line.sku for line in priced.lines] == ["A"]
    assert priced.unavailable == ("GONE",) and priced.total_minor == 5


def test_an_empty_cart_has_the_default_currency_and_no_total() -> None:
    priced = price_cart(Cart("u"), {}, (), default_currency="USD")
    assert (priced.lines, priced.total_minor, priced.currency, priced.stale) == ((), 0, "USD", False)


def test_mixed_currencies_have_no_total() -> None:
    cart = Cart("u", (CartLine("A", 1), CartLine("B", 1)))
    with pytest.raises(MixedCurrencies):
        price_cart(cart, {"A": Quote(Price(1, "EUR"), False), "B": Quote(Price(1, "USD"), False)},
                   (), default_currency=EUR)


def test_the_cache_tells_fresh_from_stale_from_too_old() -> None:
    cache = PriceCache(fresh_seconds=5, max_stale_seconds=60)
    cache.store({"A": Price(1, "EUR")}, now=0, names={"A": "Apple"})
    assert cache.fresh(["A"], now=4.9)["A"].price == Price(1, "EUR")
    assert cache.fresh(["A"], now=4.9)["A"].name == "Apple"
    assert cache.fresh(["A"], now=5.0) == {}
    assert cache.stale(["A"], now=59)["A"].price == Price(1, "EUR")
    assert cache.stale(["A"], now=60) == {}


def test_the_cache_is_bounded_oldest_first() -> None:
    cache = PriceCache(fresh_seconds=5, max_stale_seconds=60, max_entries=2)
    cache.store({"A": Price(1, "EUR"), "B": Price(2, "EUR")}, now=0)
    cache.store({"A": Price(1, "EUR")}, now=1)  # refreshed: now the youngest
    cache.store({"C": Price(3, "EUR")}, now=2)
    assert len(cache) == 2 and cache.fresh(["A", "B", "C"], now=2).keys() == {"A", "C"}
