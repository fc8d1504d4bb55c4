"""Inventory's commands (from the orders saga) and its replies and events."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from contracts.base import SKU, Command, Event, Line

__all__ = ["CommitReservation", "ReleaseStock", "ReservationCommitted", "ReservationExpired",
           "ReserveStock", "StockRejected", "StockReleased", "StockReserved"]


class ReserveStock(Command):
    """Hold stock for an order's lines, all or nothing, until committed, released or expired."""

    TYPE: ClassVar[str] = "inventory.ReserveStock.v1"
    order_id: str
    idempotency_key: str
    lines: tuple[Line, ...] = Field(min_length=1, max_length=100)


class ReleaseStock(Command):
    """Give an order's held stock back. Safe when nothing is held (it then refuses a later
    ReserveStock for the same order)."""

    TYPE: ClassVar[str] = "inventory.ReleaseStock.v1"
    order_id: str
    idempotency_key: str


class CommitReservation(Command):
    """Turn an order's held stock into sold stock."""

    TYPE: ClassVar[str] = "inventory.CommitReservation.v1"
    order_id: str
    idempotency_key: str


class StockReserved(Event):
    TYPE: ClassVar[str] = "inventory.StockReserved.v1"
    order_id: str
    idempotency_key: str


class StockRejected(Event):
    TYPE: ClassVar[str] = "inventory.StockRejected.v1"
    order_id: str
    idempotency_key: str
    reason: str
    skus: tuple[SKU, ...] = ()


class StockReleased(Event):
    TYPE: ClassVar[str] = "inventory.StockReleased.v1"
    order_id: str
    idempotency_key: str


class ReservationCommitted(Event):
    TYPE: ClassVar[str] = "inventory.ReservationCommitted.v1"
    order_id: str
    idempotency_key: str


class ReservationExpired(Event):
    TYPE: ClassVar[str] = "inventory.ReservationExpired.v1"
    order_id: str
