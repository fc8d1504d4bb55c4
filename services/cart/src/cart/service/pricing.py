"""Quotes for cart lines: fresh from the cache, else from the catalog, else stale from the cache."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from cart.domain.errors import PricingUnavailable
from cart.domain.pricing import CachedPrice, PriceCache, Quote
from cart.service.ports import PriceSource, PriceSourceUnavailable

__all__ = ["Pricer", "Quotes"]


@dataclass(frozen=True, slots=True)
class Quotes:
    quotes: dict[str, Quote]
    missing: frozenset[str]  # the catalog does not sell these


class Pricer:
    """One per process: the cache is what lets the cart answer while the catalog is away."""

    def __init__(self, source: PriceSource, cache: PriceCache,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.source = source
        self.cache = cache
        self._clock = clock

    def cached(self, skus: Iterable[str]) -> dict[str, CachedPrice]:
        """The prices the cache holds for ``skus`` (fresh or not too stale), without asking."""
        return self.cache.stale(skus, self._clock())

    async def quote(self, skus: Iterable[str], *, deadline: float | None = None) -> Quotes:
        """A quote for each of ``skus`` the catalog sells: fresh from the cache, else from the
        catalog (before ``deadline``, Unix seconds), else stale from the cache; raises
        ``PricingUnavailable`` when some SKU has no price at all."""
        wanted = list(dict.fromkeys(skus))
        now = self._clock()
        quotes = {sku: Quote(entry.price, stale=False, name=entry.name)
                  for sku, entry in self.cache.fresh(wanted, now).items()}
        need = [sku for sku in wanted if sku not in quotes]
        if not need:
            return Quotes(quotes, frozenset())
        try:
            found = await self.source.look_up(need, deadline=deadline)
        except PriceSourceUnavailable as exc:
            stale = self.cache.stale(need, now)
            absent = [sku for sku in need if sku not in stale]
            if absent:
                raise PricingUnavailable(
                    f"no price for {', '.join(absent[:5])}: the catalog is unavailable") from exc
            quotes.update((sku, Quote(entry.price, stale=True, name=entry.name))
                          for sku, entry in stale.items())
            return Quotes(quotes, frozenset())
        self.cache.store(found.prices, self._clock(), found.names)
        missing = frozenset(sku for sku in need if sku not in found.prices)
        self.cache.forget(missing)
        quotes.update((sku, Quote(price, stale=False, name=found.names.get(sku, "")))
                      for sku, price in found.prices.items() if sku in need)
        return Quotes(quotes, missing)
