"""Composition root of the inventory: settings → the chassis app, its context, the TTL sweeper
(which asks orders before a hold expires) and the catalog seeder."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from chassis import create_service_app
from chassis.app import ServiceLifespan
from chassis.db import SqlUnitOfWork
from chassis.problems import ProblemMap
from chassis.runtime import Runtime
from chassis.web import App
from inventory.adapters.catalog import CatalogSkus
from inventory.adapters.orders import OrdersSagas
from inventory.adapters.sql import SqlInventory
from inventory.domain import errors
from inventory.entrypoints import http, messages
from inventory.service.context import InventoryContext
from inventory.service.ports import SagaStates, SkuSource
from inventory.service.reservations import sweep_expired
from inventory.service.seeding import StockSeeder
from inventory.settings import InventorySettings

__all__ = ["PROBLEMS", "create_app"]

PROBLEMS: ProblemMap = {
    errors.UnknownSku: (404, "inventory/unknown-sku"),
    errors.InvalidSku: (422, "inventory/invalid-sku"),
    errors.InvalidQuantity: (422, "inventory/invalid-quantity"),
}


def create_app(settings: InventorySettings | None = None, *,
               skus: SkuSource | None = None, sagas: SagaStates | None = None) -> App:
    """``skus`` and ``sagas`` replace the catalog and orders read through the service client
    (tests)."""
    settings = settings or InventorySettings.load()
    return create_service_app(
        settings, description="Stock per SKU and reservations with a TTL; a participant of the checkout saga "
                              "(reserve, release, commit).",
        routers=[http.router], handlers=messages.handlers, problems=PROBLEMS,
        lifespan=_bootstrap(settings, skus, sagas))


def _bootstrap(settings: InventorySettings, skus: SkuSource | None,
               sagas: SagaStates | None) -> ServiceLifespan:
    @asynccontextmanager
    async def lifespan(app: App, runtime: Runtime) -> AsyncIterator[None]:
        uow = SqlUnitOfWork(runtime.transaction, SqlInventory)
        ttl = timedelta(seconds=settings.reservation_ttl)
        app.provide(InventoryContext(uow=uow, ttl=ttl))
        orders = sagas or OrdersSagas(runtime.service_client())
        runtime.background.every(settings.sweep_interval,
                                 lambda: sweep_expired(uow, orders, settings.sweep_batch, ttl),
                                 name="reservation-sweeper")
        if settings.seed_from_catalog:
            seeder = StockSeeder(uow, skus or CatalogSkus(runtime.service_client()),
                                 settings.seed_quantity)
            runtime.health.add("stock-seeded", seeder.check)
            runtime.background.every(seeder.tick, seeder.attempt, name="stock-seeder")
        yield

    return lifespan
