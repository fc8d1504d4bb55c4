"""The JSON shapes of the analytics API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from analytics.domain.summary import Summary
from chassis.problems import PROBLEM_JSON

__all__ = ["ProductTotalOut", "ReplayOut", "SummaryOut", "problem_responses"]


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


class ProblemOut(_Out):
    """RFC 9457 problem details, as every Souk error is sent."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None


def problem_responses(
        described: Mapping[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for problem+json errors, with a catch-all ``4XX``."""
    content = {PROBLEM_JSON: {"schema": ProblemOut.model_json_schema()}}
    responses: dict[int | str, dict[str, Any]] = {
        status: {"description": text, "content": content}
        for status, text in (described or {}).items()}
    responses["4XX"] = {"description": "another client error", "content": content}
    return responses
