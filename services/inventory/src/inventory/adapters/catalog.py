"""The catalog's public product list, read page by page through the chassis service client (the
only thing the inventory asks the catalog: which SKUs exist)."""

from __future__ import annotations

from urllib.parse import quote

import msgspec

from chassis.http import ServiceCallError, ServiceClient
from inventory.service.ports import SkuSource

__all__ = ["CatalogSkus", "CatalogUnavailable"]

CATALOG = "catalog"
PAGE_SIZE = 100
MAX_PAGES = 10_000  # a loop guard: a catalog that hands out cursors forever is broken


class CatalogUnavailable(Exception):
    """The catalog could not be reached or did not answer as expected."""


class _Product(msgspec.Struct):
    sku: str  # the rest of a product is not the inventory's business


class _Page(msgspec.Struct):
    items: list[_Product]
    next: str | None = None


_PAGE = msgspec.json.Decoder(_Page)


class CatalogSkus(SkuSource):
    """Reads ``GET /v1/products?limit=100&cursor=…`` of the catalog to the last page."""

    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    async def all_skus(self) -> list[str]:
        skus: list[str] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = await self._page(cursor)
            skus.extend(product.sku for product in page.items)
            cursor = page.next
            if not cursor:
                return skus
        raise CatalogUnavailable(f"catalog listing did not end after {MAX_PAGES} pages")

    async def _page(self, cursor: str | None) -> _Page:
        path = f"/v1/products?limit={PAGE_SIZE}"
        if cursor:
            path += "&cursor=" + quote(cursor, safe="")
        try:
            response = await self._client.get(CATALOG, path)
            return _PAGE.decode(response.body)
        except ServiceCallError as exc:
            raise CatalogUnavailable(str(exc)) from exc
        except msgspec.DecodeError as exc:
            raise CatalogUnavailable(f"catalog page not understood: {exc}") from exc
