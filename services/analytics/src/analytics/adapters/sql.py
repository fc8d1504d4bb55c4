"""The read models in plain SQL, portable between SQLite and PostgreSQL.

The merge of ``analytics.domain.facts.merge`` is done by the database in one upsert, so two
transactions projecting the same order at once (a replay and the live consumer) cannot lose each
other's update; summaries are aggregates computed at query time. A replay rebuilds into tables of
their own beside the live ones and replaces them in one transaction, only once it is complete.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from analytics.domain.facts import PRECEDENCE, OrderFact, ProductSale, Status
from analytics.domain.summary import TOP_PRODUCTS, ProductTotal, Summary
from analytics.service.ports import Projection, ReadModels
from chassis import clock
from chassis.db import Transaction

__all__ = ["SqlReadModels"]


def _precedence(column: str) -> str:
    # built from the domain's table, constants only
    whens = " ".join(f"WHEN '{status.value}' THEN {rank}" for status, rank in PRECEDENCE.items())
    return f"(CASE {column} {whens} ELSE -1 END)"


_FACT_COLUMNS = "order_id, user_id, status, total_minor, currency, lines, placed_at, settled_at"
# one row's values, or (PostgreSQL) several orders' rows in one statement the server runs once
_ONE_FACT = ("VALUES (:order_id, :user_id, :status, :total_minor, :currency, :lines, "
             ":placed_at, :settled_at)")
_FACT_ROWS = ("SELECT * FROM unnest(CAST(:order_id AS text[]), CAST(:user_id AS text[]), "
              "CAST(:status AS text[]), CAST(:total_minor AS bigint[]), "
              "CAST(:currency AS text[]), CAST(:lines AS text[]), "
              "CAST(:placed_at AS double precision[]), CAST(:settled_at AS double precision[]))")


def _merge_fact(table: str, rows: str) -> str:
    """The upsert of order facts (``rows``: one ``VALUES`` row, or an ``unnest`` of several, one
    order each, since an upsert cannot change a row twice), merging in the database."""
    moves_up = f"{_precedence('excluded.status')} > {_precedence(table + '.status')}"
    # the f-string only splices in a table name of this module and the domain's constants
    return f"""
    INSERT INTO {table} ({_FACT_COLUMNS}) {rows}
    ON CONFLICT (order_id) DO UPDATE SET
        status = CASE WHEN {moves_up} THEN excluded.status ELSE {table}.status END,
        settled_at = CASE WHEN {moves_up} THEN excluded.settled_at
                          ELSE {table}.settled_at END,
        placed_at = COALESCE({table}.placed_at, excluded.placed_at)
"""


def _add_sale(table: str) -> str:
    return f"""
    INSERT INTO {table} (order_id, sku, quantity, revenue_minor)
    VALUES (:order_id, :sku, :quantity, :revenue_minor)
    ON CONFLICT (order_id, sku) DO NOTHING
"""  # noqa: S608


_SALE_COLUMNS = "order_id, sku, quantity, revenue_minor"
_LIVE = ("order_facts", "product_sales")
_REBUILT = ("order_facts_rebuild", "product_sales_rebuild")
_MERGE = {table: _merge_fact(table, _ONE_FACT) for table in (_LIVE[0], _REBUILT[0])}
_MERGE_ROWS = {table: _merge_fact(table, _FACT_ROWS) for table in (_LIVE[0], _REBUILT[0])}
_ADD = {table: _add_sale(table) for table in (_LIVE[1], _REBUILT[1])}
# the live models replaced by the rebuild, in the transaction that ends it
_SWAP = (
    "DELETE FROM product_sales", "DELETE FROM order_facts",
    f"INSERT INTO order_facts ({_FACT_COLUMNS}) SELECT {_FACT_COLUMNS} FROM order_facts_rebuild",  # noqa: S608
    f"INSERT INTO product_sales ({_SALE_COLUMNS}) SELECT {_SALE_COLUMNS} FROM product_sales_rebuild",  # noqa: S608
)
_EMPTY_REBUILD = ("DELETE FROM product_sales_rebuild", "DELETE FROM order_facts_rebuild")
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


class _SqlProjection(Projection):
    """One set of read-model tables (the live ones or the rebuild) through one transaction."""

    __slots__ = ("_add", "_merge", "_merge_rows", "_tx")

    def __init__(self, tx: Transaction, tables: tuple[str, str]) -> None:
        self._tx = tx
        self._merge = _MERGE[tables[0]]
        self._merge_rows = _MERGE_ROWS[tables[0]]
        self._add = _ADD[tables[1]]

    async def merge_facts(self, facts: Sequence[OrderFact]) -> None:
        rows = [{"order_id": f.order_id, "user_id": f.user_id, "status": f.status.value,
                 "total_minor": f.total_minor, "currency": f.currency,
                 "lines": _ENCODER.encode(f.lines).decode(), "placed_at": f.placed_at,
                 "settled_at": f.settled_at} for f in facts]
        if len(rows) == 1:
            await self._tx.execute(self._merge, rows[0])
        elif self._tx.dialect == "postgresql":
            await self._tx.execute(self._merge_rows, {
                column: [row[column] for row in rows] for column in _FACT_COLUMNS.split(", ")})
        elif rows:
            await self._tx.execute_many(self._merge, rows)

    async def add_sales(self, sales: Sequence[ProductSale]) -> None:
        await self._tx.execute_many(self._add, [
            {"order_id": s.order_id, "sku": s.sku, "quantity": s.quantity,
             "revenue_minor": s.revenue_minor} for s in sales])


class SqlReadModels(ReadModels):
    """The read models through one transaction (a message batch's, or a request's). While a
    rebuild runs (a row in ``rebuilds``) what is projected here goes to the rebuild too: a
    replay reads the stream up to its last message at the start, and the rest arrives here."""

    __slots__ = ("_live", "_rebuilding", "_tx")

    def __init__(self, tx: Transaction) -> None:
        self._tx = tx
        self._live = _SqlProjection(tx, _LIVE)
        self._rebuilding: bool | None = None  # asked once per transaction, when first needed

    async def _also(self) -> Projection | None:
        if self._rebuilding is None:
            self._rebuilding = bool(await self._tx.fetch_value("SELECT COUNT(*) FROM rebuilds"))
        return self.rebuild() if self._rebuilding else None

    async def merge_facts(self, facts: Sequence[OrderFact]) -> None:
        await self._live.merge_facts(facts)
        if rebuild := await self._also():
            await rebuild.merge_facts(facts)

    async def add_sales(self, sales: Sequence[ProductSale]) -> None:
        await self._live.add_sales(sales)
        if rebuild := await self._also():
            await rebuild.add_sales(sales)

    def rebuild(self) -> Projection:
        return _SqlProjection(self._tx, _REBUILT)

    async def start_rebuild(self, token: str) -> None:
        await self._tx.execute("DELETE FROM rebuilds")
        for statement in _EMPTY_REBUILD:
            await self._tx.execute(statement)
        await self._tx.execute("INSERT INTO rebuilds (token, started_at) VALUES (:t, :at)",
                               {"t": token, "at": clock.time()})
        self._rebuilding = True

    async def finish_rebuild(self, token: str) -> bool:
        if not await self._end(token):
            return False
        for statement in (*_SWAP, *_EMPTY_REBUILD):
            await self._tx.execute(statement)
        return True

    async def abandon_rebuild(self, token: str) -> None:
        if await self._end(token):
            for statement in _EMPTY_REBUILD:
                await self._tx.execute(statement)

    async def _end(self, token: str) -> bool:
        self._rebuilding = False
        return await self._tx.execute("DELETE FROM rebuilds WHERE token = :t", {"t": token}) > 0

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
