"""Prices from the catalog's internal lookup, through the chassis service client (discovery or a
fixed URL, breaker, retries — the lookup is a read sent as POST, so it is marked idempotent —
bulkhead, deadline, the cart's service token)."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from cart.domain.pricing import Price
from cart.service.ports import PriceLookup, PriceSource, PriceSourceUnavailable
from chassis.http import ServiceCallError, ServiceClient

__all__ = ["CATALOG", "CatalogPriceSource"]

CATALOG = "catalog"
_PATH = "/v1/internal/prices"


# the cart's own copy of the fields it reads from the catalog's answer
class _Money(msgspec.Struct, frozen=True):
    amount_minor: int
    currency: str


class _Answer(msgspec.Struct, frozen=True):
    prices: dict[str, _Money]
    missing: list[str] = []
    names: dict[str, str] = {}


_DECODER = msgspec.json.Decoder(_Answer)


class CatalogPriceSource(PriceSource):
    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def look_up(self, skus: Sequence[str], *, deadline: float | None = None) -> PriceLookup:
        try:
            resp = await self._client.post(CATALOG, _PATH, json={"skus": list(skus)},
                                           idempotent=True, deadline=deadline)
            answer = _DECODER.decode(resp.body)
        except ServiceCallError as exc:
            raise PriceSourceUnavailable(str(exc) or type(exc).__name__) from exc
        except msgspec.DecodeError as exc:
            raise PriceSourceUnavailable(f"catalog sent an unreadable price list: {exc}") from exc
        return PriceLookup({sku: Price(m.amount_minor, m.currency)
                            for sku, m in answer.prices.items()},
                           answer.missing, answer.names)
