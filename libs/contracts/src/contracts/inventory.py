"""Inventory's commands (from the orders saga) and its replies and events."""

from __future__ import annotations

from typing import Annotated, ClassVar

from msgspec import Meta

from contracts.base import SKU, Event, Line, OrderCommand, OrderReply

__all__ = ["CommitReservation", "ReleaseStock", "ReservationCommitted", "ReservationExpired",
           "ReserveStock", "StockRejected", "StockReleased", "StockReserved"]


class ReserveStock(OrderCommand, frozen=True, kw_only=True):
    """Hold stock for an order's lines, all or nothing, until committed, released or expired."""

    TYPE: ClassVar[str] = "inventory.ReserveStock.v1"
    lines: Annotated[tuple[Line, ...], Meta(min_length=1, max_length=100)]


class ReleaseStock(OrderCommand, frozen=True, kw_only=True):
    """Give an order's held stock back. Safe when nothing is held (it then refuses a later
    ReserveStock for the same order)."""

    TYPE: ClassVar[str] = "inventory.ReleaseStock.v1"


class CommitReservation(OrderCommand, frozen=True, kw_only=True):
    """Turn an order's held stock into sold stock."""

    TYPE: ClassVar[str] = "inventory.CommitReservation.v1"


class StockReserved(OrderReply, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "inventory.StockReserved.v1"


class StockRejected(OrderReply, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "inventory.StockRejected.v1"
    reason: str
    skus: tuple[SKU, ...] = ()


class StockReleased(OrderReply, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "inventory.StockReleased.v1"


class ReservationCommitted(OrderReply, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "inventory.ReservationCommitted.v1"


class ReservationExpired(Event, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "inventory.ReservationExpired.v1"
    order_id: str
