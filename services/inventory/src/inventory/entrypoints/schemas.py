"""The inventory API's bodies, as msgspec Structs (their JSON Schemas are the OpenAPI document's),
and their mapping from domain objects."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from inventory.domain.reservations import Reservation
from inventory.domain.stock import MAX_RESTOCK, StockLevel

__all__ = ["AvailabilityOut", "LineOut", "ReservationOut", "RestockIn", "StockOut"]

ReservationStatus = Literal["ACTIVE", "RELEASED", "COMMITTED", "EXPIRED", "REJECTED"]


class AvailabilityOut(msgspec.Struct, frozen=True):
    sku: Annotated[str, Meta(examples=["KIT-0007"])]
    available: Annotated[int, Meta(description="units that can be reserved right now")]


class StockOut(msgspec.Struct, frozen=True):
    sku: str
    initial: Annotated[int, Meta(description="every unit ever added: seed plus restocks")]
    available: int
    reserved: Annotated[int, Meta(description="held by ACTIVE reservations")]
    sold: int

    @classmethod
    def of(cls, level: StockLevel) -> StockOut:
        return cls(level.sku, level.initial, level.available, level.reserved, level.sold)


class LineOut(msgspec.Struct, frozen=True):
    sku: str
    quantity: int


class ReservationOut(msgspec.Struct, frozen=True):
    order_id: str
    status: ReservationStatus
    lines: list[LineOut]
    expires_at: Annotated[datetime | None, Meta(
        description="null for a reservation that never held stock")]

    @classmethod
    def of(cls, reservation: Reservation) -> ReservationOut:
        return cls(reservation.order_id, reservation.status.value,
                   [LineOut(s, q) for s, q in reservation.lines.items()], reservation.expires_at)


class RestockIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    # unknown fields are an error, not silently dropped: a typo must not look like success
    quantity: Annotated[int, Meta(ge=1, le=MAX_RESTOCK, description="units to add")]
