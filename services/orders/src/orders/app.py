"""Composition root of orders: settings → the chassis app, the saga runner, its sweeper."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from chassis import create_service_app
from chassis.app import ServiceLifespan
from chassis.db import SqlUnitOfWork, service_migrations
from chassis.problems import ProblemMap
from chassis.runtime import Runtime
from chassis.web import App
from orders.adapters.cart import HttpCartReader
from orders.adapters.metrics import PrometheusSagaMetrics
from orders.adapters.sql import SqlOrders
from orders.domain import errors
from orders.domain.saga import Step
from orders.entrypoints import http, messages
from orders.service.context import OrdersContext
from orders.service.notices import StatusNotices
from orders.service.ports import CartReader
from orders.service.saga_runner import SagaRunner
from orders.service.waits import WaitSlots
from orders.settings import OrdersLive, OrdersSettings

__all__ = ["MIGRATIONS", "PROBLEMS", "create_app"]

MIGRATIONS = service_migrations("orders")  # bench/ migrates its database with it

PROBLEMS: ProblemMap = {
    errors.OrderNotFound: (404, "orders/not-found"),
    errors.EmptyCart: (422, "orders/empty-cart"),
    errors.IdempotencyKeyReused: (422, "orders/idempotency-key-reused"),
    errors.CartAlreadyOrdered: (409, "orders/cart-already-ordered"),
    errors.CartUnavailable: (503, "orders/cart-unavailable"),
    errors.CartNotOrderable: (409, "orders/cart-not-orderable"),
}


def create_app(settings: OrdersSettings | None = None, *, carts: CartReader | None = None) -> App:
    """``carts`` replaces the HTTP cart reader (tests)."""
    settings = settings or OrdersSettings.load()
    return create_service_app(
        settings, description="Checkout: places orders from the caller's cart and runs the checkout saga "
                              "(stock, payment, confirmation or compensation).",
        routers=[http.router], handlers=messages.handlers, problems=PROBLEMS,
        lifespan=_bootstrap(settings, carts), live=OrdersLive)


def _deadlines(live: OrdersLive) -> dict[Step, float]:
    return {Step.RESERVE: live.reserve_timeout, Step.AUTHORIZE: live.authorize_timeout,
            Step.CAPTURE: live.capture_timeout, Step.VOID: live.compensation_timeout,
            Step.RELEASE: live.compensation_timeout}


def _bootstrap(settings: OrdersSettings, carts: CartReader | None) -> ServiceLifespan:
    @asynccontextmanager
    async def lifespan(app: App, runtime: Runtime) -> AsyncIterator[None]:
        live = runtime.live_settings(OrdersLive)
        broker = runtime.broker
        runner = SagaRunner(StatusNotices(), _deadlines(live.current),
                            PrometheusSagaMetrics(runtime.metrics_registry),
                            capture_on_authorize=settings.capture_on_authorize,
                            tracing=runtime.tracing,
                            broker_up=lambda: broker is None or broker.is_connected,
                            restart_deadlines_first=True)
        live.bind(lambda values: setattr(runner, "deadlines", _deadlines(values)),
                  "reserve_timeout", "authorize_timeout", "capture_timeout",
                  "compensation_timeout")
        uow = SqlUnitOfWork(runtime.transaction, SqlOrders)
        reader = carts or HttpCartReader(runtime.service_client())
        app.provide(runner)
        app.provide(OrdersContext(uow=uow, carts=reader, runner=runner,
                                  max_wait=settings.max_wait,
                                  waits=WaitSlots(settings.max_waits_per_user,
                                                  total=settings.max_waits,
                                                  streams=settings.max_streams)))
        # deadlines are stored, so after a crash the first sweep picks up what was in flight
        runtime.background.every(settings.sweep_interval, lambda: runner.sweep(uow),
                                 name="saga-sweeper")
        yield

    return lifespan
