"""Reservations: stock held for one order until it is committed, released or expires.

One row per order, ever: a ReleaseStock that arrives before its ReserveStock leaves a RELEASED
tombstone, so the late ReserveStock is refused instead of holding stock nobody will release.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from inventory.domain.stock import Quantities, Rejection

__all__ = ["EXPIRED", "RELEASED", "Reservation", "Status"]

RELEASED = "released"
EXPIRED = "expired"


class Status(StrEnum):
    ACTIVE = "ACTIVE"  # stock held: counted in ``reserved``
    RELEASED = "RELEASED"  # given back (or never held: a tombstone)
    COMMITTED = "COMMITTED"  # sold
    EXPIRED = "EXPIRED"  # given back by the TTL sweeper
    REJECTED = "REJECTED"  # nothing was held: unknown SKU or not enough stock


@dataclass(frozen=True, slots=True)
class Reservation:
    order_id: str
    status: Status
    idempotency_key: str
    created_at: datetime
    updated_at: datetime
    lines: Mapping[str, int] = field(default_factory=dict)
    expires_at: datetime | None = None
    reason: str | None = None

    @classmethod
    def hold(cls, order_id: str, idempotency_key: str, lines: Quantities, now: datetime,
             ttl: timedelta) -> Reservation:
        return cls(order_id, Status.ACTIVE, idempotency_key, now, now, dict(lines),
                   expires_at=now + ttl)

    @classmethod
    def rejected(cls, order_id: str, idempotency_key: str, lines: Quantities, now: datetime,
                 rejection: Rejection) -> Reservation:
        return cls(order_id, Status.REJECTED, idempotency_key, now, now, dict(lines),
                   reason=rejection.reason)

    @classmethod
    def tombstone(cls, order_id: str, idempotency_key: str, now: datetime) -> Reservation:
        """Released before it was ever reserved: holds nothing, refuses a later reserve."""
        return cls(order_id, Status.RELEASED, idempotency_key, now, now, reason="released-early")

    @property
    def holds_stock(self) -> bool:
        return self.status is Status.ACTIVE

    def answer(self) -> Rejection | None:
        """What a (repeated) ReserveStock for this order gets: None means "reserved"."""
        if self.status in (Status.ACTIVE, Status.COMMITTED):
            return None
        if self.status is Status.RELEASED:
            return Rejection(RELEASED)
        if self.status is Status.EXPIRED:
            return Rejection(EXPIRED)
        return Rejection(self.reason or "rejected")
