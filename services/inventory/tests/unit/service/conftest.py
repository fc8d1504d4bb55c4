"""An in-memory inventory that keeps the repository contract and refuses what the database's
CHECK constraints refuse, and what orders would say of the sagas, for use-case tests without
I/O."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime

from contracts import Message
from inventory.domain.reservations import Reservation, Status
from inventory.domain.stock import Quantities, StockLevel
from inventory.service.ports import SagasUnavailable


class BrokenInvariant(AssertionError):
    pass


class InMemoryInventory:
    """Both the unit of work and the repository; a transaction that raises leaves nothing
    behind, and what it published is kept only when it commits."""

    def __init__(self, stock: Mapping[str, int] | None = None) -> None:
        self.stock: dict[str, StockLevel] = {
            sku: StockLevel(sku, q, q, 0, 0) for sku, q in (stock or {}).items()}
        self.reservations: dict[str, Reservation] = {}
        self.published: list[tuple[Message, str]] = []
        self.statements = 0
        self.transactions = 0
        self._outgoing: list[tuple[Message, str]] = []

    @asynccontextmanager
    async def __call__(self, *, readonly: bool = False) -> AsyncIterator[InMemoryInventory]:
        self.transactions += 1
        saved = copy.deepcopy((self.stock, self.reservations))
        self._outgoing = []
        try:
            yield self
        except BaseException:
            self.stock, self.reservations = saved
            raise
        self.published.extend(self._outgoing)

    def publish(self, message: Message, *, msg_id: str, correlation_id: str) -> None:
        self._outgoing.append((message, msg_id))

    def _move(self, quantities: Mapping[str, int], **deltas: int) -> None:
        self.statements += 1
        for sku, q in quantities.items():
            level = self.stock[sku]
            changed = replace(level, **{field: getattr(level, field) + sign * q
                                        for field, sign in deltas.items()})
            if not changed.is_consistent:
                raise BrokenInvariant(f"{sku}: {changed}")
            self.stock[sku] = changed

    async def available(self, skus: Collection[str]) -> dict[str, int]:
        self.statements += 1
        return {sku: self.stock[sku].available for sku in skus if sku in self.stock}

    async def hold(self, quantities: Mapping[str, int]) -> None:
        self._move(quantities, available=-1, reserved=+1)

    async def unhold(self, quantities: Mapping[str, int]) -> None:
        self._move(quantities, reserved=-1, available=+1)

    async def sell_held(self, quantities: Mapping[str, int]) -> None:
        self._move(quantities, reserved=-1, sold=+1)

    async def sell_available(self, quantities: Mapping[str, int]) -> None:
        self._move(quantities, available=-1, sold=+1)

    async def get_stock(self, sku: str) -> StockLevel | None:
        return self.stock.get(sku)

    async def list_stock(self, after: str | None, limit: int) -> list[StockLevel]:
        return [self.stock[s] for s in sorted(self.stock) if s > (after or "")][:limit]

    async def restock(self, sku: str, quantity: int) -> StockLevel:
        level = self.stock.get(sku, StockLevel(sku, 0, 0, 0, 0))
        self.stock[sku] = replace(level, initial=level.initial + quantity,
                                  available=level.available + quantity)
        return self.stock[sku]

    async def add_stock_if_absent(self, skus: Collection[str], quantity: int) -> None:
        for sku in skus:
            self.stock.setdefault(sku, StockLevel(sku, quantity, quantity, 0, 0))

    async def get_reservation(self, order_id: str) -> Reservation | None:
        self.statements += 1
        return self.reservations.get(order_id)

    async def add_reservation_if_absent(self, reservation: Reservation) -> bool:
        self.statements += 1
        if reservation.order_id in self.reservations:
            return False
        self.reservations[reservation.order_id] = reservation
        if reservation.holds_stock:
            await self.hold(reservation.lines)
            self.statements -= 1  # the insert's statement holds them (one on PostgreSQL)
        return True

    async def finish_active(self, order_id: str, status: Status,
                            now: datetime) -> Quantities | None:
        self.statements += 1
        found = self.reservations.get(order_id)
        if found is None or found.status is not Status.ACTIVE:
            return None
        self.reservations[order_id] = replace(found, status=status, updated_at=now)
        return dict(found.lines)

    async def change_status(self, order_id: str, old: Status, new: Status,
                            now: datetime) -> bool:
        self.statements += 1
        found = self.reservations.get(order_id)
        if found is None or found.status is not old:
            return False
        self.reservations[order_id] = replace(found, status=new, updated_at=now)
        return True

    def _due(self, r: Reservation, now: datetime) -> bool:
        return r.status is Status.ACTIVE and r.expires_at is not None and r.expires_at <= now

    async def due(self, now: datetime, limit: int) -> list[str]:
        due = sorted((r for r in self.reservations.values() if self._due(r, now)),
                     key=lambda r: r.expires_at or now)[:limit]
        return [r.order_id for r in due]

    async def expire(self, order_ids: Collection[str],
                     now: datetime) -> list[tuple[str, Quantities]]:
        due = [r for o in sorted(order_ids)
               if (r := self.reservations.get(o)) is not None and self._due(r, now)]
        for r in due:
            self.reservations[r.order_id] = replace(r, status=Status.EXPIRED, updated_at=now)
        return [(r.order_id, dict(r.lines)) for r in due]

    async def extend(self, order_ids: Collection[str], until: datetime) -> None:
        for o in order_ids:
            found = self.reservations.get(o)
            if found is not None and found.status is Status.ACTIVE:
                self.reservations[o] = replace(found, expires_at=until)

    async def list_reservations(self, after: str | None, limit: int) -> list[Reservation]:
        return [self.reservations[o] for o in sorted(self.reservations) if o > (after or "")][:limit]

    def counts(self, sku: str) -> tuple[int, int, int]:
        """(available, reserved, sold)"""
        level = self.stock[sku]
        return level.available, level.reserved, level.sold


class FakeSagas:
    """What orders would say: ``running`` may still confirm; ``down`` makes it unreachable."""

    def __init__(self, *running: str) -> None:
        self.running = set(running)
        self.down = False
        self.asked: list[list[str]] = []

    async def may_confirm(self, order_ids: Sequence[str]) -> set[str]:
        self.asked.append(list(order_ids))
        if self.down:
            raise SagasUnavailable("orders is away")
        return self.running & set(order_ids)
