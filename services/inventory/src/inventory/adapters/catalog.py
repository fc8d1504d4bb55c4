"""The catalog's public product list, read page by page over HTTP (the only thing the inventory
asks the catalog: which SKUs exist)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import aiohttp

__all__ = ["CatalogSkus", "CatalogUnavailable"]

PAGE_SIZE = 100
MAX_PAGES = 10_000  # a loop guard: a catalog that hands out cursors forever is broken


class CatalogUnavailable(Exception):
    """The catalog could not be found or did not answer as expected."""


class CatalogSkus:
    """Reads ``GET {catalog}/v1/products?limit=100&cursor=…`` to the last page.

    ``base_url`` is asked before every page (discovery may move the catalog meanwhile) and returns
    None when no catalog instance is known.
    """

    def __init__(self, session: aiohttp.ClientSession, base_url: Callable[[], str | None], *,
                 timeout: float = 5.0) -> None:
        self._session = session
        self._base_url = base_url
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def all_skus(self) -> list[str]:
        skus: list[str] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = await self._page(cursor)
            items = page.get("items")
            if not isinstance(items, list):
                raise CatalogUnavailable("catalog page without an items list")
            skus.extend(str(item["sku"]) for item in items
                        if isinstance(item, dict) and isinstance(item.get("sku"), str))
            cursor = page.get("next_cursor")
            if not cursor:
                return skus
        raise CatalogUnavailable(f"catalog listing did not end after {MAX_PAGES} pages")

    async def _page(self, cursor: str | None) -> dict[str, Any]:
        base = self._base_url()
        if base is None:
            raise CatalogUnavailable("no catalog instance is known")
        params = {"limit": str(PAGE_SIZE)}
        if cursor:
            params["cursor"] = cursor
        async with self._session.get(f"{base.rstrip('/')}/v1/products", params=params,
                                     timeout=self._timeout) as response:
            if response.status != 200:
                raise CatalogUnavailable(f"catalog answered {response.status}")
            body = await response.json(content_type=None)
        if not isinstance(body, dict):
            raise CatalogUnavailable("catalog page is not a JSON object")
        return body
