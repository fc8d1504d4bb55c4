"""The analytics API's bodies, as msgspec Structs (their JSON Schemas are the OpenAPI
document's)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from analytics.domain.summary import Summary
from analytics.service.replay import Replayed

__all__ = ["ProductTotalOut", "ReplayOut", "SummaryOut"]


class ProductTotalOut(msgspec.Struct, frozen=True):
    sku: str
    units: int
    revenue_minor: Annotated[int, Meta(description="minor units, summed over confirmed orders")]


class SummaryOut(msgspec.Struct, frozen=True):
    orders_by_status: Annotated[dict[str, int], Meta(
        description="orders by status: placed, confirmed, cancelled",
        examples=[{"placed": 2, "confirmed": 10, "cancelled": 1}])]
    revenue: Annotated[dict[str, int], Meta(
        description="confirmed totals in minor units, per currency")]
    top_products: Annotated[list[ProductTotalOut], Meta(
        description="top 10 by units, ties by SKU")]
    orders: Annotated[int, Meta(description="orders seen, whatever their status")]

    @classmethod
    def of(cls, summary: Summary) -> SummaryOut:
        return cls(orders_by_status=summary.orders_by_status, revenue=summary.revenue,
                   top_products=[ProductTotalOut(p.sku, p.units, p.revenue_minor)
                                 for p in summary.top_products],
                   orders=summary.orders)


class ReplayOut(msgspec.Struct, frozen=True):
    replayed: Annotated[int, Meta(description="stored orders events applied, duplicates "
                                              "included")]
    summary: SummaryOut

    @classmethod
    def of(cls, done: Replayed) -> ReplayOut:
        return cls(replayed=done.replayed, summary=SummaryOut.of(done.summary))
