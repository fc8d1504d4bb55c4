"""Carts in plain SQL, portable between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from cart.domain.cart import Cart, CartLine
from cart.service.ports import ADD_KEYS_KEPT, CartRepository
from chassis.db import Transaction
from chassis.db.timestamps import to_db_timestamp

__all__ = ["SqlCarts"]

# lines in the order they were first added; lines added together (a whole-cart replacement) by
# SKU. A line's version is the cart's when the buyer last set it (NULL: set before lines had one)
_LINES = ("SELECT sku, quantity, version FROM cart_items WHERE user_id = :user_id "
          "ORDER BY added_at, sku")
# a read in one statement (one round trip on PostgreSQL, and one snapshot): the version first
# (absent: no cart yet), then the lines as _LINES gives them
_CART = ("SELECT 0 AS part, '' AS sku, version AS n, NULL AS v, NULL AS added_at FROM carts "
         "WHERE user_id = :user_id UNION ALL "
         "SELECT 1, sku, quantity, version, added_at FROM cart_items WHERE user_id = :user_id "
         "ORDER BY part, added_at, sku")
# an upsert takes the row lock on PostgreSQL (SQLite's BEGIN IMMEDIATE already serializes writers)
_BUMP = """
    INSERT INTO carts (user_id, version, updated_at) VALUES (:user_id, 1, :now)
    ON CONFLICT (user_id) DO UPDATE SET version = carts.version + 1, updated_at = excluded.updated_at
    RETURNING version
"""
_SET = """
    INSERT INTO cart_items (user_id, sku, quantity, added_at, version)
    VALUES (:user_id, :sku, :quantity, :now, :version)
    ON CONFLICT (user_id, sku) DO UPDATE SET quantity = excluded.quantity,
                                             version = excluded.version
"""
_ADD = ("INSERT INTO cart_items (user_id, sku, quantity, added_at, version) "
        "VALUES (:user_id, :sku, :quantity, :now, :version)")
# PostgreSQL, once the cart's row is locked (so no other change to the cart runs meanwhile): the
# lines become exactly these in one statement; the two parts touch different rows
_REPLACE_LINES = """
    WITH gone AS (DELETE FROM cart_items
                  WHERE user_id = :user_id AND NOT (sku = ANY(CAST(:skus AS text[]))))
    INSERT INTO cart_items (user_id, sku, quantity, added_at, version)
    SELECT CAST(:user_id AS text), line.sku, line.quantity, CAST(:now AS timestamptz),
           CAST(:version AS bigint)
    FROM unnest(CAST(:skus AS text[]), CAST(:quantities AS integer[])) AS line(sku, quantity)
    ON CONFLICT (user_id, sku) DO UPDATE SET quantity = excluded.quantity,
                                             added_at = excluded.added_at,
                                             version = excluded.version
"""
_REMOVE = "DELETE FROM cart_items WHERE user_id = :user_id AND sku = :sku"
# a confirmed order's lines that the buyer has not set since the order's cart version: on
# PostgreSQL in one statement, on SQLite (no round trips to save) one a SKU
_REMOVE_UNCHANGED = ("DELETE FROM cart_items WHERE user_id = :user_id "
                     "AND sku = ANY(CAST(:skus AS text[])) AND version <= :version")
_REMOVE_UNCHANGED_ONE = ("DELETE FROM cart_items WHERE user_id = :user_id AND sku = :sku "
                         "AND version <= :version")
# an ordered quantity leaves its line: the whole line when it held no more (the usual case, one
# statement), else what was ordered (the buyer added to it since)
_TAKE_ALL = ("DELETE FROM cart_items WHERE user_id = :user_id AND sku = :sku "
             "AND quantity <= :quantity")
_TAKE_SOME = ("UPDATE cart_items SET quantity = quantity - :quantity "
              "WHERE user_id = :user_id AND sku = :sku")
_CLEAR = "DELETE FROM cart_items WHERE user_id = :user_id"
# an add's key: refused (0 rows) when the user has it already; the user's old ones go with a new
_FIRST_ADD = ("INSERT INTO cart_add_keys (user_id, key, request, at) "
              "VALUES (:user_id, :key, :request, :now) ON CONFLICT (user_id, key) DO NOTHING")
_ADD_MADE = "SELECT request FROM cart_add_keys WHERE user_id = :user_id AND key = :key"
_FORGET_ADDS = "DELETE FROM cart_add_keys WHERE user_id = :user_id AND at < :before"


def _version(value: Any) -> int | None:
    return None if value is None else int(value)


class SqlCarts(CartRepository):
    """The repository inside one transaction (a request's, or a message batch's ``MessageTx``)."""

    __slots__ = ("_dialect", "_tx")

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx
        self._dialect = tx.dialect

    async def _lines(self, user_id: str) -> tuple[CartLine, ...]:
        rows = await self._tx.fetch_all(_LINES, {"user_id": user_id})
        return tuple(CartLine(row["sku"], int(row["quantity"]), _version(row["version"]))
                     for row in rows)

    async def get(self, user_id: str) -> Cart:
        rows = await self._tx.fetch_all(_CART, {"user_id": user_id})
        version = int(rows[0]["n"]) if rows and rows[0]["part"] == 0 else 0
        return Cart(user_id, tuple(CartLine(row["sku"], int(row["n"]), _version(row["v"]))
                                   for row in rows if row["part"] == 1), version)

    async def _bump(self, user_id: str, stamp: datetime | str | None) -> int:
        return int(await self._tx.fetch_value(_BUMP, {"user_id": user_id, "now": stamp}))

    async def touch(self, user_id: str, now: datetime) -> int:
        return await self._bump(user_id, to_db_timestamp(self._dialect, now))

    async def lock(self, user_id: str, now: datetime) -> Cart:
        # the lines are read after the row lock is held (a statement of their own: within one
        # statement they would come from its snapshot, taken before any wait for the lock)
        version = await self.touch(user_id, now)
        return Cart(user_id, await self._lines(user_id), version)

    async def replace(self, user_id: str, lines: Sequence[CartLine], now: datetime) -> Cart:
        stamp = to_db_timestamp(self._dialect, now)
        version = await self._bump(user_id, stamp)
        if self._dialect == "postgresql":
            await self._tx.execute(_REPLACE_LINES, {
                "user_id": user_id, "now": stamp, "version": version,
                "skus": [line.sku for line in lines],
                "quantities": [line.quantity for line in lines]})
        else:
            await self._tx.execute(_CLEAR, {"user_id": user_id})
            if lines:
                await self._tx.execute_many(_ADD, [
                    {"user_id": user_id, "sku": line.sku, "quantity": line.quantity,
                     "now": stamp, "version": version} for line in lines])
        # every line was set at ``now``: a read gives them by SKU (see _LINES), so no read-back
        return Cart(user_id, tuple(CartLine(line.sku, line.quantity, version)
                                   for line in sorted(lines, key=lambda line: line.sku)), version)

    async def set_quantity(self, user_id: str, sku: str, quantity: int, now: datetime,
                           version: int) -> None:
        await self._tx.execute(_SET, {"user_id": user_id, "sku": sku, "quantity": quantity,
                                      "now": to_db_timestamp(self._dialect, now),
                                      "version": version})

    async def remove(self, user_id: str, skus: Iterable[str]) -> int:
        removed = 0
        for sku in skus:
            removed += await self._tx.execute(_REMOVE, {"user_id": user_id, "sku": sku})
        return removed

    async def remove_unchanged(self, user_id: str, skus: Sequence[str], version: int) -> int:
        if self._dialect == "postgresql":
            return await self._tx.execute(_REMOVE_UNCHANGED, {
                "user_id": user_id, "skus": list(skus), "version": version})
        removed = 0
        for sku in skus:
            removed += await self._tx.execute(_REMOVE_UNCHANGED_ONE, {
                "user_id": user_id, "sku": sku, "version": version})
        return removed

    async def take(self, user_id: str, sku: str, quantity: int) -> int:
        params = {"user_id": user_id, "sku": sku, "quantity": quantity}
        return (await self._tx.execute(_TAKE_ALL, params)
                or await self._tx.execute(_TAKE_SOME, params))

    async def clear(self, user_id: str) -> int:
        return await self._tx.execute(_CLEAR, {"user_id": user_id})

    async def claim_add_key(self, user_id: str, key: str, request: str,
                            now: datetime) -> str | None:
        if not await self._tx.execute(_FIRST_ADD, {
                "user_id": user_id, "key": key, "request": request,
                "now": to_db_timestamp(self._dialect, now)}):
            made = await self._tx.fetch_value(_ADD_MADE, {"user_id": user_id, "key": key})
            return str(made or "")
        await self._tx.execute(_FORGET_ADDS, {
            "user_id": user_id, "before": to_db_timestamp(self._dialect, now - ADD_KEYS_KEPT)})
        return None
