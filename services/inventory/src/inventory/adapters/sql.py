"""The inventory store in plain SQL, portable between SQLite and PostgreSQL.

Quantities change only through relative updates (``available = available - :q``), so concurrent
transactions never overwrite each other's counts; the CHECK constraints refuse anything negative
or unbalanced. On PostgreSQL the stock rows a reservation reads are locked (``FOR UPDATE``, in SKU
order), so two instances cannot both spend the last units; SQLite serialises writers anyway.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime

import msgspec

from chassis.db import Row
from chassis.db.timestamps import from_db_timestamp, to_db_timestamp
from chassis.messaging import MessageTx
from contracts import Message
from inventory.domain.reservations import Reservation, Status
from inventory.domain.stock import Quantities, StockLevel
from inventory.service.ports import InventoryRepository

__all__ = ["SqlInventory", "dump_lines", "load_lines"]

_GET_STOCK = "SELECT sku, initial, available, reserved, sold FROM stock WHERE sku = :sku"
_LIST_STOCK = """
    SELECT sku, initial, available, reserved, sold FROM stock
    WHERE sku > :after ORDER BY sku LIMIT :limit
"""
_GET_RESERVATION = """
    SELECT order_id, status, lines, idempotency_key, reason, created_at, expires_at, updated_at
    FROM reservations WHERE order_id = :order_id
"""
_LIST_RESERVATIONS = """
    SELECT order_id, status, lines, idempotency_key, reason, created_at, expires_at, updated_at
    FROM reservations WHERE order_id > :after ORDER BY order_id LIMIT :limit
"""

_AVAILABLE_HEAD = "SELECT sku, available FROM stock WHERE sku IN ("
_HOLD = "UPDATE stock SET available = available - :q, reserved = reserved + :q WHERE sku = :sku"
_UNHOLD = "UPDATE stock SET reserved = reserved - :q, available = available + :q WHERE sku = :sku"
_SELL_HELD = "UPDATE stock SET reserved = reserved - :q, sold = sold + :q WHERE sku = :sku"
_SELL_AVAILABLE = "UPDATE stock SET available = available - :q, sold = sold + :q WHERE sku = :sku"

_RESTOCK = """
    INSERT INTO stock (sku, initial, available, reserved, sold) VALUES (:sku, :q, :q, 0, 0)
    ON CONFLICT (sku) DO UPDATE SET initial = stock.initial + excluded.initial,
                                    available = stock.available + excluded.available
    RETURNING sku, initial, available, reserved, sold
"""
_SEED = """
    INSERT INTO stock (sku, initial, available, reserved, sold) VALUES (:sku, :q, :q, 0, 0)
    ON CONFLICT (sku) DO NOTHING
"""
_INSERT_RESERVATION = """
    INSERT INTO reservations (order_id, status, lines, idempotency_key, reason, created_at,
                              expires_at, updated_at)
    VALUES (:order_id, :status, :lines, :idempotency_key, :reason, :created_at, :expires_at,
            :updated_at)
    ON CONFLICT (order_id) DO NOTHING
"""
# PostgreSQL: a reservation that holds stock and its hold in one statement (the stock rows are
# already locked by ``available``'s FOR UPDATE, so nothing is waited for in between)
_INSERT_HOLDING = """
    WITH added AS (""" + _INSERT_RESERVATION + """ RETURNING order_id),
    held AS (
        UPDATE stock SET available = stock.available - line.q, reserved = stock.reserved + line.q
        FROM unnest(CAST(:skus AS text[]), CAST(:qs AS bigint[])) AS line(sku, q)
        WHERE stock.sku = line.sku AND EXISTS (SELECT 1 FROM added))
    SELECT count(*) FROM added
"""  # noqa: S608 (constants only)
_FINISH_ACTIVE = """
    UPDATE reservations SET status = :status, updated_at = :now
    WHERE order_id = :order_id AND status = 'ACTIVE'
    RETURNING lines
"""
_CHANGE_STATUS = """
    UPDATE reservations SET status = :new, updated_at = :now
    WHERE order_id = :order_id AND status = :old
"""
# the literal 'ACTIVE' lets both engines use the partial index on expires_at
_DUE = """
    SELECT order_id FROM reservations WHERE status = 'ACTIVE' AND expires_at <= :now
    ORDER BY expires_at LIMIT :limit
"""
_EXPIRE_HEAD = "UPDATE reservations SET status = 'EXPIRED', updated_at = :now WHERE order_id IN ("
_EXPIRE_TAIL = ") AND status = 'ACTIVE' AND expires_at <= :now RETURNING order_id, lines"
_EXTEND_HEAD = "UPDATE reservations SET expires_at = :until WHERE order_id IN ("
_EXTEND_TAIL = ") AND status = 'ACTIVE'"


def _in(values: Collection[str]) -> tuple[str, dict[str, object]]:
    """Placeholders for ``IN (...)`` and their parameters: only generated names are pasted in."""
    names = {f"o{i}": value for i, value in enumerate(sorted(values))}
    return ", ".join(":" + name for name in names), dict(names)


class _Line(msgspec.Struct, frozen=True):
    sku: str
    quantity: int


_LINES_ENCODER = msgspec.json.Encoder()
_LINES_DECODER = msgspec.json.Decoder(list[_Line])


def dump_lines(lines: Mapping[str, int]) -> str:
    """A reservation's lines as stored: ``[{"sku", "quantity"}]``, one entry per SKU."""
    return _LINES_ENCODER.encode([_Line(sku, q) for sku, q in lines.items()]).decode()


def load_lines(text: str) -> Quantities:
    return {line.sku: line.quantity for line in _LINES_DECODER.decode(text)}


def _stock(row: Row) -> StockLevel:
    return StockLevel(sku=row["sku"], initial=int(row["initial"]),
                      available=int(row["available"]), reserved=int(row["reserved"]),
                      sold=int(row["sold"]))


def _reservation(row: Row) -> Reservation:
    expires_at = row["expires_at"]
    return Reservation(
        order_id=row["order_id"], status=Status(row["status"]),
        idempotency_key=row["idempotency_key"], lines=load_lines(row["lines"]),
        reason=row["reason"], created_at=from_db_timestamp(row["created_at"]),
        updated_at=from_db_timestamp(row["updated_at"]),
        expires_at=None if expires_at is None else from_db_timestamp(expires_at))


def _rows(quantities: Mapping[str, int]) -> list[dict[str, object]]:
    # SKU order: the same lock order in every transaction, so PostgreSQL cannot deadlock on it
    return [{"sku": sku, "q": quantities[sku]} for sku in sorted(quantities)]


class SqlInventory(InventoryRepository):
    """The inventory tables through one transaction: a consumer batch's, or one opened by a
    request or the sweeper (``publish`` goes to the outbox)."""

    __slots__ = ("_lock", "_tx")

    def __init__(self, tx: MessageTx) -> None:
        self._tx = tx
        self._lock = " FOR UPDATE" if tx.dialect == "postgresql" else ""

    def _ts(self, value: datetime | None) -> object:
        return to_db_timestamp(self._tx.dialect, value)

    async def available(self, skus: Collection[str]) -> dict[str, int]:
        names = {f"s{i}": sku for i, sku in enumerate(sorted(skus))}
        # only generated placeholder names are pasted in; the SKUs travel as parameters
        placeholders = ", ".join(":" + name for name in names)
        sql = _AVAILABLE_HEAD + placeholders + ") ORDER BY sku" + self._lock
        return {row["sku"]: int(row["available"]) for row in await self._tx.fetch_all(sql, names)}

    async def hold(self, quantities: Mapping[str, int]) -> None:
        await self._tx.execute_many(_HOLD, _rows(quantities))

    async def unhold(self, quantities: Mapping[str, int]) -> None:
        await self._tx.execute_many(_UNHOLD, _rows(quantities))

    async def sell_held(self, quantities: Mapping[str, int]) -> None:
        await self._tx.execute_many(_SELL_HELD, _rows(quantities))

    async def sell_available(self, quantities: Mapping[str, int]) -> None:
        await self._tx.execute_many(_SELL_AVAILABLE, _rows(quantities))

    async def get_stock(self, sku: str) -> StockLevel | None:
        row = await self._tx.fetch_one(_GET_STOCK, {"sku": sku})
        return None if row is None else _stock(row)

    async def list_stock(self, after: str | None, limit: int) -> list[StockLevel]:
        rows = await self._tx.fetch_all(_LIST_STOCK, {"after": after or "", "limit": limit})
        return [_stock(row) for row in rows]

    async def restock(self, sku: str, quantity: int) -> StockLevel:
        # fetch_all, not fetch_one: a RETURNING statement must run to its end on SQLite
        rows = await self._tx.fetch_all(_RESTOCK, {"sku": sku, "q": quantity})
        return _stock(rows[0])

    async def add_stock_if_absent(self, skus: Collection[str], quantity: int) -> None:
        await self._tx.execute_many(_SEED, [{"sku": sku, "q": quantity} for sku in sorted(skus)])

    async def get_reservation(self, order_id: str) -> Reservation | None:
        row = await self._tx.fetch_one(_GET_RESERVATION, {"order_id": order_id})
        return None if row is None else _reservation(row)

    async def add_reservation_if_absent(self, reservation: Reservation) -> bool:
        row = {
            "order_id": reservation.order_id, "status": reservation.status.value,
            "lines": dump_lines(reservation.lines),
            "idempotency_key": reservation.idempotency_key, "reason": reservation.reason,
            "created_at": self._ts(reservation.created_at),
            "expires_at": self._ts(reservation.expires_at),
            "updated_at": self._ts(reservation.updated_at)}
        holding = reservation.holds_stock and bool(reservation.lines)
        if holding and self._tx.dialect == "postgresql":
            lines = _rows(reservation.lines)
            return bool(await self._tx.fetch_value(_INSERT_HOLDING, row | {
                "skus": [line["sku"] for line in lines], "qs": [line["q"] for line in lines]}))
        if not await self._tx.execute(_INSERT_RESERVATION, row):
            return False
        if holding:
            await self.hold(reservation.lines)
        return True

    async def finish_active(self, order_id: str, status: Status,
                            now: datetime) -> Quantities | None:
        rows = await self._tx.fetch_all(_FINISH_ACTIVE, {
            "order_id": order_id, "status": status.value, "now": self._ts(now)})
        return load_lines(rows[0]["lines"]) if rows else None

    async def change_status(self, order_id: str, old: Status, new: Status,
                            now: datetime) -> bool:
        changed = await self._tx.execute(_CHANGE_STATUS, {
            "order_id": order_id, "old": old.value, "new": new.value, "now": self._ts(now)})
        return changed > 0

    async def due(self, now: datetime, limit: int) -> list[str]:
        rows = await self._tx.fetch_all(_DUE, {"now": self._ts(now), "limit": limit})
        return [row["order_id"] for row in rows]

    async def expire(self, order_ids: Collection[str],
                     now: datetime) -> list[tuple[str, Quantities]]:
        if not order_ids:
            return []
        placeholders, params = _in(order_ids)
        rows = await self._tx.fetch_all(_EXPIRE_HEAD + placeholders + _EXPIRE_TAIL,
                                        params | {"now": self._ts(now)})
        return sorted((row["order_id"], load_lines(row["lines"])) for row in rows)

    async def extend(self, order_ids: Collection[str], until: datetime) -> None:
        if order_ids:
            placeholders, params = _in(order_ids)
            await self._tx.execute(_EXTEND_HEAD + placeholders + _EXTEND_TAIL,
                                   params | {"until": self._ts(until)})

    async def list_reservations(self, after: str | None, limit: int) -> list[Reservation]:
        rows = await self._tx.fetch_all(_LIST_RESERVATIONS,
                                        {"after": after or "", "limit": limit})
        return [_reservation(row) for row in rows]

    def publish(self, message: Message, *, msg_id: str, correlation_id: str) -> None:
        self._tx.publish(message, msg_id=msg_id, correlation_id=correlation_id)
