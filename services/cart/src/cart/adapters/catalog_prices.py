"""Prices from the catalog's internal lookup, through the chassis service client (breaker,
retries — the lookup is a read sent as POST, so it is marked idempotent — bulkhead, identity)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cart.domain.pricing import Price
from cart.service.ports import PriceLookup, PriceSourceUnavailable
from chassis.http import ServiceCallError, ServiceClient

__all__ = ["CATALOG", "CatalogPriceSource"]

CATALOG = "catalog"
_PATH = "/v1/internal/prices"


class CatalogPriceSource:
    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def look_up(self, skus: Sequence[str], *, deadline: float | None = None) -> PriceLookup:
        try:
            resp = await self._client.post(CATALOG, _PATH, json={"skus": list(skus)},
                                           idempotent=True, deadline=deadline)
            return _lookup(resp.json())
        except ServiceCallError as exc:
            raise PriceSourceUnavailable(str(exc)) from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise PriceSourceUnavailable(f"catalog sent an unreadable price list: {exc}") from exc


def _lookup(doc: Any) -> PriceLookup:
    prices = {str(sku): Price(int(p["amount_minor"]), str(p["currency"]))
              for sku, p in doc["prices"].items()}
    return PriceLookup(prices, [str(s) for s in doc.get("missing", [])])
