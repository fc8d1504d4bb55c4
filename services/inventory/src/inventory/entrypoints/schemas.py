"""The JSON shapes of the inventory API (pydantic), and their mapping from domain objects."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from inventory.domain.reservations import Reservation
from inventory.domain.stock import MAX_RESTOCK, StockLevel

__all__ = ["AvailabilityOut", "LineOut", "ReservationOut", "ReservationPageOut", "RestockIn",
           "StockOut", "StockPageOut"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class AvailabilityOut(_Out):
    sku: str = Field(examples=["KIT-0007"])
    available: int = Field(description="units that can be reserved right now")


class StockOut(_Out):
    sku: str
    initial: int = Field(description="every unit ever added: seed plus restocks")
    available: int
    reserved: int = Field(description="held by ACTIVE reservations")
    sold: int

    @classmethod
    def of(cls, level: StockLevel) -> StockOut:
        return cls(sku=level.sku, initial=level.initial, available=level.available,
                   reserved=level.reserved, sold=level.sold)


class StockPageOut(_Out):
    items: list[StockOut]
    next: str | None = Field(description="pass as `after` for the next page; null on the last")


class LineOut(_Out):
    sku: str
    quantity: int


class ReservationOut(_Out):
    order_id: str
    status: str = Field(examples=["ACTIVE", "RELEASED", "COMMITTED", "EXPIRED", "REJECTED"])
    lines: list[LineOut]
    expires_at: datetime | None = Field(description="null for a reservation that never held stock")

    @classmethod
    def of(cls, reservation: Reservation) -> ReservationOut:
        return cls(order_id=reservation.order_id, status=reservation.status.value,
                   lines=[LineOut(sku=s, quantity=q) for s, q in reservation.lines.items()],
                   expires_at=reservation.expires_at)


class ReservationPageOut(_Out):
    items: list[ReservationOut]
    next: str | None = Field(description="pass as `after` for the next page; null on the last")


class RestockIn(BaseModel):
    # unknown fields are an error, not silently dropped: a typo must not look like success
    model_config = ConfigDict(frozen=True, extra="forbid")

    quantity: int = Field(ge=1, le=MAX_RESTOCK, description="units to add")


