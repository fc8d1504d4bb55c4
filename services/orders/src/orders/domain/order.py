"""An order as its owner sees it."""

from __future__ import annotations

from dataclasses import dataclass

from orders.domain.saga import Status

__all__ = ["Order", "OrderLine"]


@dataclass(frozen=True, slots=True)
class OrderLine:
    sku: str
    quantity: int
    unit_price_minor: int
    name: str = ""

    @property
    def total_minor(self) -> int:
        return self.quantity * self.unit_price_minor


@dataclass(frozen=True, slots=True)
class Order:
    id: str
    user_id: str
    status: Status
    total_minor: int
    currency: str
    lines: tuple[OrderLine, ...]
    reason: str
    created_at: float
    updated_at: float

    @property
    def terminal(self) -> bool:
        return self.status.terminal
