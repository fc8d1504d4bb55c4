"""What the use cases need from storage, from the catalog and from orders. ``inventory.adapters``
implements them over the chassis database and service client; the unit tests implement them in
memory.

Each repository method is one SQL statement in the real store, so a use case's cost can be read
off its code.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from chassis.db import UnitOfWork
from contracts import Message
from inventory.domain.reservations import Reservation, Status
from inventory.domain.stock import Quantities, StockLevel

__all__ = ["InventoryRepository", "InventoryUnitOfWork", "SagaStates", "SagasUnavailable",
           "SkuSource"]


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
        this call inserted it. An inserted reservation that holds stock (``holds_stock``) has its
        lines held with it (as :meth:`hold`), so the two never part."""
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

    async def due(self, now: datetime, limit: int) -> list[str]:
        """Order ids of ACTIVE reservations whose ``expires_at`` has passed (at most ``limit``,
        the oldest first)."""
        ...

    async def expire(self, order_ids: Collection[str], now: datetime) -> list[tuple[str, Quantities]]:
        """Those of ``order_ids`` still ACTIVE and past ``expires_at`` → EXPIRED; their order ids
        and lines."""
        ...

    async def extend(self, order_ids: Collection[str], until: datetime) -> None:
        """``expires_at = until`` for those of ``order_ids`` still ACTIVE."""
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


class SagasUnavailable(Exception):
    """Orders could not say which sagas are still running."""


class SagaStates(Protocol):
    """What orders knows of the sagas behind reservations."""

    async def may_confirm(self, order_ids: Sequence[str]) -> set[str]:
        """The orders among ``order_ids`` whose saga is still running or has confirmed: their
        stock must stay held (an unknown or cancelled order's may go). ``SagasUnavailable`` when
        orders cannot be asked."""
        ...
