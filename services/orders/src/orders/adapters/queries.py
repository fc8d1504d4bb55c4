"""Read-side queries of the orders tables (HTTP listings), in plain SQL."""

from __future__ import annotations

from typing import Any

from chassis.db import Database
from orders.adapters.sql import SELECT, order_from_row
from orders.domain.order import Order

__all__ = ["admin_page", "get_order", "journal_of", "user_page"]


async def get_order(db: Database, order_id: str) -> Order | None:
    async with db.transaction(readonly=True) as tx:
        row = await tx.fetch_one(SELECT + "WHERE id = :id", {"id": order_id})
    return None if row is None else order_from_row(row)


async def user_page(db: Database, user_id: str, *, before: str | None, limit: int) -> list[Order]:
    where = "WHERE user_id = :u" + (" AND id < :before" if before else "")
    async with db.transaction(readonly=True) as tx:
        rows = await tx.fetch_all(
            SELECT + where + " ORDER BY id DESC LIMIT :limit",
            {"u": user_id, "before": before, "limit": limit})
    return [order_from_row(r) for r in rows]


async def admin_page(db: Database, *, after: str | None, limit: int) -> list[Order]:
    where = "WHERE id > :after" if after else ""
    async with db.transaction(readonly=True) as tx:
        rows = await tx.fetch_all(
            SELECT + where + " ORDER BY id LIMIT :limit",
            {"after": after, "limit": limit})
    return [order_from_row(r) for r in rows]


async def journal_of(db: Database, order_id: str) -> list[dict[str, Any]]:
    async with db.transaction(readonly=True) as tx:
        return await tx.fetch_all(
            "SELECT step, note, at FROM saga_journal WHERE order_id = :id ORDER BY seq",
            {"id": order_id})
