"""What the use cases need from storage and from the catalog. ``inventory.adapters`` implements
them over the chassis database and service client; the unit tests implement them in memory.

Each repository method is one SQL statement in the real store, so a use case's cost can be read
off its code.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Protocol

from chassis.db import UnitOfWork
from contracts import Message
from inventory.domain.reservations import Reservation, Status
from inventory.domain.stock import Quantities, StockLevel

__all__ = ["InventoryRepository", "InventoryUnitOfWork", "SkuSource"]


class InventoryRepository(Protocol):
    """Stock, reservations and what they publish, seen from inside one transaction."""

    async def available(self, skus: Collection[str]) -> dict[str, int]:
        """Available units of the known SKUs among ``skus``, their rows locked until the end of the
        transaction (unknown SKUs are absent)."""
        ...

    async def hold(self, quantities: Mapping[str, int]) -> None:
        """available -= q, reserved += q."""
        ...

    async def unhold(self, quantities: Mapping[str, int]) -> None:
        """reserved -= q, available += q."""
        ...

    async def sell_held(self, quantities: Mapping[str, int]) -> None:
        """reserved -= q, sold += q."""
        ...

    async def sell_available(self, quantities: Mapping[str, int]) -> None:
        """available -= q, sold += q."""
        ...

    async def get_stock(self, sku: str) -> StockLevel | None: ...

    async def list_stock(self, after: str | None, limit: int) -> list[StockLevel]:
        """Stock rows ordered by SKU, strictly after ``after``."""
        ...

    async def restock(self, sku: str, quantity: int) -> StockLevel:
        """Add ``quantity`` to initial and available, creating the row when absent."""
        ...

    async def add_stock_if_absent(self, skus: Collection[str], quantity: int) -> None:
        """A row with ``quantity`` available for each SKU that has none (concurrent-safe)."""
        ...

    async def get_reservation(self, order_id: str) -> Reservation | None: ...

    async def add_reservation_if_absent(self, reservation: Reservation) -> bool:
        """Insert unless the order has a reservation (even one being inserted right now); True if
        this call inserted it."""
        ...

    async def finish_active(self, order_id: str, status: Status,
                            now: datetime) -> Quantities | None:
        """Move the order's ACTIVE reservation to ``status`` atomically; its lines, or None when it
        is absent or not ACTIVE (nothing changed)."""
        ...

    async def change_status(self, order_id: str, old: Status, new: Status,
                            now: datetime) -> bool:
        """``old`` → ``new`` when the reservation is still ``old``; True if it changed."""
        ...

    async def expire_due(self, now: datetime, limit: int) -> list[tuple[str, Quantities]]:
        """ACTIVE reservations whose ``expires_at`` has passed → EXPIRED (at most ``limit``, the
        oldest first); their order ids and lines."""
        ...

    async def list_reservations(self, after: str | None, limit: int) -> list[Reservation]:
        """Reservations ordered by order id, strictly after ``after``."""
        ...


    def publish(self, message: Message, *, msg_id: str, correlation_id: str) -> None:
        """Send ``message`` if and when this transaction commits (the outbox)."""
        ...


InventoryUnitOfWork = UnitOfWork[InventoryRepository]


class SkuSource(Protocol):
    """Where the SKUs to stock come from (the catalog's public product list)."""

    async def all_skus(self) -> list[str]:
        """Every listed SKU; raises when the source cannot be read completely."""
        ...
