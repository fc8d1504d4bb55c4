"""The sales summary computed from the read models (SQL does it in the database; this is the
reference the in-memory fake and the tests use)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from analytics.domain.facts import OrderFact, ProductSale, Status

__all__ = ["TOP_PRODUCTS", "ProductTotal", "Summary", "summarize"]

TOP_PRODUCTS = 10


@dataclass(frozen=True, slots=True)
class ProductTotal:
    sku: str
    units: int
    revenue_minor: int


@dataclass(frozen=True, slots=True)
class Summary:
    orders_by_status: dict[str, int] = field(
        default_factory=lambda: {status.value: 0 for status in Status})
    revenue: dict[str, int] = field(default_factory=dict)  # confirmed totals per currency
    top_products: list[ProductTotal] = field(default_factory=list)  # by units, then SKU
    orders: int = 0


def summarize(facts: Iterable[OrderFact], sales: Iterable[ProductSale]) -> Summary:
    facts = list(facts)
    by_status = {status.value: 0 for status in Status}
    revenue: Counter[str] = Counter()
    for fact in facts:
        by_status[fact.status.value] += 1
        if fact.status is Status.CONFIRMED:
            revenue[fact.currency] += fact.total_minor
    units: Counter[str] = Counter()
    money: Counter[str] = Counter()
    for sale in sales:
        units[sale.sku] += sale.quantity
        money[sale.sku] += sale.revenue_minor
    top = sorted(units, key=lambda sku: (-units[sku], sku))[:TOP_PRODUCTS]
    return Summary(by_status, dict(sorted(revenue.items())),
                   [ProductTotal(sku, units[sku], money[sku]) for sku in top], len(facts))
