"""What the inventory entrypoints share, built once by the composition root (app.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from inventory.service.ports import InventoryUnitOfWork

__all__ = ["InventoryContext"]


@dataclass(frozen=True)
class InventoryContext:
    uow: InventoryUnitOfWork
    ttl: timedelta  # how long a reservation holds its stock
