"""The read models in plain SQL, portable between SQLite and PostgreSQL.

The merge of ``analytics.domain.facts.merge`` is done by the database in one upsert, so two
transactions projecting the same order at once (a replay and the live consumer) cannot lose each
other's update; summaries are aggregates computed at query time.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from analytics.domain.facts import PRECEDENCE, OrderFact, ProductSale, Status
from analytics.domain.summary import TOP_PRODUCTS, ProductTotal, Summary
from analytics.service.ports import ReadModels
from chassis.db import Transaction

__all__ = ["SqlReadModels"]


def _precedence(column: str) -> str:
    # built from the domain's table, constants only
    whens = " ".join(f"WHEN '{status.value}' THEN {rank}" for status, rank in PRECEDENCE.items())
    return f"(CASE {column} {whens} ELSE -1 END)"


_MOVES_UP = f"{_precedence('excluded.status')} > {_precedence('order_facts.status')}"

# the f-string only splices in _MOVES_UP, built from the domain's constants above
_MERGE_FACT = f"""
    INSERT INTO order_facts (order_id, user_id, status, total_minor, currency, lines,
                             placed_at, settled_at)
    VALUES (:order_id, :user_id, :status, :total_minor, :currency, :lines,
            :placed_at, :settled_at)
    ON CONFLICT (order_id) DO UPDATE SET
        status = CASE WHEN {_MOVES_UP} THEN excluded.status ELSE order_facts.status END,
        settled_at = CASE WHEN {_MOVES_UP} THEN excluded.settled_at
                          ELSE order_facts.settled_at END,
        placed_at = COALESCE(order_facts.placed_at, excluded.placed_at)
"""  # noqa: S608
_ADD_SALE = """
    INSERT INTO product_sales (order_id, sku, quantity, revenue_minor)
    VALUES (:order_id, :sku, :quantity, :revenue_minor)
    ON CONFLICT (order_id, sku) DO NOTHING
"""
_BY_STATUS = "SELECT status, COUNT(*) AS n FROM order_facts GROUP BY status"
_REVENUE = """
    SELECT currency, SUM(total_minor) AS revenue FROM order_facts
    WHERE status = :confirmed GROUP BY currency ORDER BY currency
"""
_TOP_PRODUCTS = """
    SELECT sku, SUM(quantity) AS units, SUM(revenue_minor) AS revenue FROM product_sales
    GROUP BY sku ORDER BY units DESC, sku LIMIT :top
"""
# the lines as compact JSON objects {"sku", "quantity", "unit_price_minor"} (Line's fields)
_ENCODER = msgspec.json.Encoder()


class SqlReadModels(ReadModels):
    """The read models through one transaction (a message batch's, or a request's)."""

    __slots__ = ("_tx",)

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx

    async def merge_fact(self, fact: OrderFact) -> None:
        await self._tx.execute(_MERGE_FACT, {
            "order_id": fact.order_id, "user_id": fact.user_id, "status": fact.status.value,
            "total_minor": fact.total_minor, "currency": fact.currency,
            "lines": _ENCODER.encode(fact.lines).decode(), "placed_at": fact.placed_at,
            "settled_at": fact.settled_at})

    async def add_sales(self, sales: Sequence[ProductSale]) -> None:
        await self._tx.execute_many(_ADD_SALE, [
            {"order_id": s.order_id, "sku": s.sku, "quantity": s.quantity,
             "revenue_minor": s.revenue_minor} for s in sales])

    async def clear(self) -> None:
        await self._tx.execute("DELETE FROM product_sales")
        await self._tx.execute("DELETE FROM order_facts")

    async def summary(self) -> Summary:
        by_status = {status.value: 0 for status in Status}
        for row in await self._tx.fetch_all(_BY_STATUS):
            by_status[row["status"]] = int(row["n"])
        revenue = {row["currency"]: int(row["revenue"])
                   for row in await self._tx.fetch_all(
                       _REVENUE, {"confirmed": Status.CONFIRMED.value})}
        top = [ProductTotal(row["sku"], int(row["units"]), int(row["revenue"]))
               for row in await self._tx.fetch_all(_TOP_PRODUCTS, {"top": TOP_PRODUCTS})]
        return Summary(by_status, revenue, top, sum(by_status.values()))
