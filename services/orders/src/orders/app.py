"""Composition root of orders: settings → chassis app, saga runner, reply handlers, sweeper."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from chassis import create_service_app
from chassis.app import ServiceLifespan
from chassis.http import AiohttpTransport, ServiceClient
from chassis.logging import get_logger
from chassis.problems import ProblemMap
from chassis.runtime import Runtime
from orders.adapters.cart import HttpCartReader
from orders.adapters.metrics import PrometheusSagaMetrics
from orders.adapters.sql import sql_unit_of_work
from orders.domain.errors import CartUnavailable, EmptyCart, IdempotencyKeyReused, OrderNotFound
from orders.domain.saga import Step
from orders.entrypoints import http
from orders.entrypoints.context import Orders
from orders.entrypoints.messages import reply_handlers
from orders.entrypoints.workers import sweep_forever
from orders.service.notices import StatusNotices
from orders.service.ports import CartReader
from orders.service.saga import SagaRunner
from orders.settings import OrdersSettings

__all__ = ["MIGRATIONS", "PROBLEMS", "create_app"]

MIGRATIONS = Path(__file__).parent / "migrations"

PROBLEMS: ProblemMap = {
    OrderNotFound: (404, "orders/not-found"),
    EmptyCart: (422, "orders/empty-cart"),
    IdempotencyKeyReused: (422, "orders/idempotency-key-reused"),
    CartUnavailable: (503, "orders/cart-unavailable"),
}

log = get_logger(__name__)


def create_app(settings: OrdersSettings | None = None, *, carts: CartReader | None = None) -> FastAPI:
    """``carts`` replaces the HTTP cart reader (tests)."""
    settings = settings or OrdersSettings()
    app = create_service_app(
        settings, title="Souk orders",
        description="Checkout: places orders from the caller's cart and runs the checkout saga "
                    "(stock, payment, confirmation or compensation).",
        problems=PROBLEMS, migrations=MIGRATIONS, lifespan=_lifespan(settings, carts),
        messaging=True)
    app.include_router(http.router)
    return app


def _lifespan(settings: OrdersSettings, carts: CartReader | None) -> ServiceLifespan:
    @asynccontextmanager
    async def lifespan(app: FastAPI, runtime: Runtime) -> AsyncIterator[None]:
        messaging = runtime.require_messaging()
        deadlines = {Step.RESERVE: settings.reserve_timeout, Step.AUTHORIZE: settings.authorize_timeout,
                     Step.CAPTURE: settings.capture_timeout, Step.VOID: settings.compensation_timeout,
                     Step.RELEASE: settings.compensation_timeout}
        runner = SagaRunner(StatusNotices(), deadlines, tracing=runtime.tracing,
                            metrics=PrometheusSagaMetrics(runtime.metrics_registry))
        uow = sql_unit_of_work(messaging)
        if carts is None:
            if runtime.http is None or runtime.discovery is None:
                raise RuntimeError("orders needs a registry to find the cart")
            client = ServiceClient(AiohttpTransport(runtime.http), runtime.discovery,
                                   service=settings.service_name, tokens=runtime.service_tokens,
                                   registry=runtime.metrics_registry, tracing=runtime.tracing)
            reader: CartReader = HttpCartReader(client)
        else:
            reader = carts
        app.state.orders = Orders(db=runtime.require_db(), uow=uow, carts=reader, runner=runner,
                                  notices=runner.notices, max_wait=settings.max_wait)
        messaging.subscribe(reply_handlers(runner))
        sweeper = asyncio.create_task(sweep_forever(uow, runner, settings.sweep_interval),
                                      name="saga-sweeper")
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper

    return lifespan
