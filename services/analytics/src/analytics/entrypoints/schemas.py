"""The JSON shapes of the analytics API."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from analytics.domain.summary import Summary

__all__ = ["ProductTotalOut", "ReplayOut", "SummaryOut"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class ProductTotalOut(_Out):
    sku: str
    units: int
    revenue_minor: int = Field(description="minor units, summed over confirmed orders")


class SummaryOut(_Out):
    orders_by_status: dict[str, int] = Field(examples=[{"placed": 2, "confirmed": 10,
                                                        "cancelled": 1}])
    revenue: dict[str, int] = Field(description="confirmed totals in minor units, per currency")
    top_products: list[ProductTotalOut] = Field(description="top 10 by units, ties by SKU")
    orders: int = Field(description="orders seen, whatever their status")

    @classmethod
    def of(cls, summary: Summary) -> SummaryOut:
        return cls(orders_by_status=summary.orders_by_status, revenue=summary.revenue,
                   top_products=[ProductTotalOut(sku=p.sku, units=p.units,
                                                 revenue_minor=p.revenue_minor)
                                 for p in summary.top_products],
                   orders=summary.orders)


class ReplayOut(_Out):
    replayed: int = Field(description="stored orders events applied")
    summary: SummaryOut


