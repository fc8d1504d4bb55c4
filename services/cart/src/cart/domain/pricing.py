"""Prices of cart lines, and the per-process cache that keeps them while the catalog is away."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from cart.domain.cart import Cart, CartLine
from cart.domain.errors import MixedCurrencies

__all__ = ["CachedPrice", "Price", "PriceCache", "PricedCart", "PricedLine", "Quote", "price_cart"]


@dataclass(frozen=True, slots=True)
class Price:
    amount_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class CachedPrice:
    price: Price
    fetched_at: float  # the cache's clock (monotonic seconds)
    name: str = ""  # the product's name, as the catalog gave it with the price


@dataclass(frozen=True, slots=True)
class Quote:
    """A price for a line, whether it is an old one served because the catalog is away, and
    the product's name."""

    price: Price
    stale: bool
    name: str = ""


class PriceCache:
    """Prices by SKU with the time they were fetched. Younger than ``fresh_seconds`` a price is
    used as it is; older it should be refreshed, and is still served (flagged stale) when the
    refresh fails, up to ``max_stale_seconds``. Bounded: the oldest entries go first."""

    def __init__(self, *, fresh_seconds: float, max_stale_seconds: float,
                 max_entries: int = 10_000) -> None:
        self.fresh_seconds = fresh_seconds
        self.max_stale_seconds = max_stale_seconds
        self.max_entries = max_entries
        self._entries: dict[str, CachedPrice] = {}

    def fresh(self, skus: Iterable[str], now: float) -> dict[str, CachedPrice]:
        """Cached prices young enough to use without asking the catalog."""
        return self._younger_than(self.fresh_seconds, skus, now)

    def stale(self, skus: Iterable[str], now: float) -> dict[str, CachedPrice]:
        """Cached prices too old to be fresh but young enough to serve when the catalog fails."""
        return self._younger_than(self.max_stale_seconds, skus, now)

    def _younger_than(self, seconds: float, skus: Iterable[str],
                      now: float) -> dict[str, CachedPrice]:
        found: dict[str, CachedPrice] = {}
        for sku in skus:
            entry = self._entries.get(sku)
            if entry is not None and now - entry.fetched_at < seconds:
                found[sku] = entry
        return found

    def store(self, prices: Mapping[str, Price], now: float,
              names: Mapping[str, str] | None = None) -> None:
        """Remember ``prices`` (and the products' ``names``) as fetched at ``now``."""
        entries = self._entries
        names = names or {}
        for sku, price in prices.items():
            entries.pop(sku, None)  # re-inserted at the end: dict order is age order
            entries[sku] = CachedPrice(price, now, names.get(sku, ""))
        while len(entries) > self.max_entries:
            del entries[next(iter(entries))]

    def forget(self, skus: Iterable[str]) -> None:
        for sku in skus:
            self._entries.pop(sku, None)

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(frozen=True, slots=True)
class PricedLine:
    sku: str
    quantity: int
    unit_price: Price
    price_stale: bool
    name: str = ""

    @property
    def line_total_minor(self) -> int:
        return self.unit_price.amount_minor * self.quantity


@dataclass(frozen=True, slots=True)
class PricedCart:
    user_id: str
    version: int
    lines: tuple[PricedLine, ...]
    currency: str
    unavailable: tuple[str, ...]  # SKUs in the cart the catalog no longer sells

    @property
    def total_minor(self) -> int:
        return sum(line.line_total_minor for line in self.lines)

    @property
    def stale(self) -> bool:
        return any(line.price_stale for line in self.lines)


def price_cart(cart: Cart, quotes: Mapping[str, Quote], missing: Iterable[str], *,
               default_currency: str) -> PricedCart:
    """The cart with a quote per line; lines the catalog reports missing are left out and listed
    as unavailable."""
    gone = set(missing)
    lines: list[PricedLine] = []
    for line in cart.lines:
        if line.sku in gone:
            continue
        quote = quotes[line.sku]
        lines.append(_priced(line, quote))
    currencies = {line.unit_price.currency for line in lines}
    if len(currencies) > 1:
        raise MixedCurrencies(f"the cart mixes {', '.join(sorted(currencies))}")
    currency = currencies.pop() if currencies else default_currency
    return PricedCart(cart.user_id, cart.version, tuple(lines), currency,
                      tuple(line.sku for line in cart.lines if line.sku in gone))


def _priced(line: CartLine, quote: Quote) -> PricedLine:
    return PricedLine(line.sku, line.quantity, quote.price, quote.stale, quote.name)
