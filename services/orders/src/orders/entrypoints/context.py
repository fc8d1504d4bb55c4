"""What the orders endpoints share, built once in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from chassis.db import Database
from orders.service.notices import StatusNotices
from orders.service.ports import CartReader, UnitOfWork
from orders.service.saga import SagaRunner

__all__ = ["Orders", "OrdersDep"]


@dataclass
class Orders:
    db: Database
    uow: UnitOfWork
    carts: CartReader
    runner: SagaRunner
    notices: StatusNotices
    max_wait: float


async def _orders(request: Request) -> Orders:
    orders: Orders = request.app.state.orders
    return orders


OrdersDep = Annotated[Orders, Depends(_orders)]
