"""What the orders entrypoints share, built once by the composition root (app.py)."""

from __future__ import annotations

from dataclasses import dataclass

from orders.service.notices import StatusNotices
from orders.service.ports import CartReader, OrdersUnitOfWork
from orders.service.saga_runner import SagaRunner
from orders.service.waits import WaitSlots

__all__ = ["OrdersContext"]


@dataclass(frozen=True)
class OrdersContext:
    uow: OrdersUnitOfWork
    carts: CartReader
    runner: SagaRunner
    max_wait: float  # the longest `Prefer: wait=N` honoured, seconds
    waits: WaitSlots  # long polls and status streams held per user

    @property
    def notices(self) -> StatusNotices:
        return self.runner.notices
