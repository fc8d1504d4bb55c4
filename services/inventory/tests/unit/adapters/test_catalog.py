"""Reading the catalog's SKUs through the service client, over a fake transport (no sockets)."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import parse_qs, urlsplit

import msgspec
import pytest

from chassis.http import RawResponse, ServiceClient, StaticDirectory
from inventory.adapters.catalog import CatalogSkus, CatalogUnavailable

pytestmark = pytest.mark.unit


class FakeCatalog:
    """Answers ``GET /v1/products?limit=&cursor=`` like the catalog: ``{"items", "next"}``."""

    def __init__(self, skus: list[str], page_size: int = 2, status: int = 200,
                 body: bytes | None = None) -> None:
        self.skus = skus
        self.page_size = page_size
        self.status = status
        self.body = body
        self.asked: list[str] = []

    async def send(self, method: str, url: str, *, headers: Mapping[str, str],
                   body: bytes | None, timeout: float) -> RawResponse:
        parts = urlsplit(url)
        self.asked.append(parts.path + "?" + parts.query)
        query = parse_qs(parts.query)
        start = int(query.get("cursor", ["0"])[0])
        end = start + self.page_size
        page = {"items": [{"sku": s, "name": s.lower(), "price": {"amount_minor": 1}}
                          for s in self.skus[start:end]],
                "next": str(end) if end < len(self.skus) else None}
        return RawResponse(self.status, {}, self.body or msgspec.json.encode(page))


def reader(catalog: FakeCatalog) -> CatalogSkus:
    return CatalogSkus(ServiceClient(catalog, StaticDirectory({"catalog": "http://catalog"}),
                                     service="inventory"))


async def test_every_page_is_read_following_the_next_cursor() -> None:
    catalog = FakeCatalog(["KIT-1", "KIT-2", "BOK-1", "BOK-2", "TOY-1"])
    assert await reader(catalog).all_skus() == ["KIT-1", "KIT-2", "BOK-1", "BOK-2", "TOY-1"]
    assert catalog.asked == ["/v1/products?limit=100", "/v1/products?limit=100&cursor=2",
                             "/v1/products?limit=100&cursor=4"]


async def test_an_empty_catalog_is_no_skus() -> None:
    assert await reader(FakeCatalog([])).all_skus() == []


@pytest.mark.parametrize(("status", "body"), [(404, b'{"type": "not-found"}'),
                                              (200, b'{"products": []}'),
                                              (200, b"not json")])
async def test_a_catalog_that_does_not_answer_a_page_is_unavailable(status: int,
                                                                    body: bytes) -> None:
    with pytest.raises(CatalogUnavailable):
        await reader(FakeCatalog(["KIT-1"], status=status, body=body)).all_skus()
