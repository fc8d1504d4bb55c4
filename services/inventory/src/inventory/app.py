"""Composition root of the inventory: settings → chassis app, problem map, handlers, background
tasks (TTL sweeper, catalog seeder), router."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
from fastapi import FastAPI

from chassis import create_service_app
from chassis.app import ServiceLifespan
from chassis.logging import get_logger
from chassis.problems import ProblemMap
from chassis.runtime import Runtime
from inventory.adapters.catalog import CatalogSkus
from inventory.adapters.sql import SqlUnitOfWork
from inventory.domain.errors import InvalidQuantity, InvalidSku, UnknownSku
from inventory.entrypoints import http
from inventory.entrypoints.background import run_seeder, run_sweeper
from inventory.entrypoints.messages import InventoryHandlers
from inventory.service.seeding import StockSeeder
from inventory.settings import InventorySettings

__all__ = ["MIGRATIONS", "PROBLEMS", "create_app"]

MIGRATIONS = Path(__file__).parent / "migrations"

PROBLEMS: ProblemMap = {
    UnknownSku: (404, "inventory/unknown-sku"),
    InvalidSku: (422, "inventory/invalid-sku"),
    InvalidQuantity: (422, "inventory/invalid-quantity"),
}

log = get_logger(__name__)


def create_app(settings: InventorySettings | None = None) -> FastAPI:
    settings = settings or InventorySettings()
    app = create_service_app(
        settings, title="Souk inventory",
        description="Stock per SKU and reservations with a TTL; a participant of the orders saga.",
        problems=PROBLEMS, migrations=MIGRATIONS, lifespan=_lifespan(settings),
        # without NATS (HTTP-only tests, tooling) there is no saga to take part in
        messaging=bool(settings.nats_url))
    app.include_router(http.router)
    return app


def _lifespan(settings: InventorySettings) -> ServiceLifespan:
    @asynccontextmanager
    async def lifespan(app: FastAPI, runtime: Runtime) -> AsyncIterator[None]:
        db = runtime.require_db()
        async with contextlib.AsyncExitStack() as stack:
            if runtime.messaging is not None:
                handlers = InventoryHandlers(db.dialect,
                                             timedelta(seconds=settings.reservation_ttl))
                runtime.messaging.subscribe(handlers.subscriptions())
                _background(stack, run_sweeper(runtime.messaging, db.dialect,
                                               settings.sweep_interval, settings.sweep_batch),
                            "inventory-sweeper")
            else:
                log.warning("no NATS URL: not taking part in the saga; reservations never expire")
            if settings.seed_from_catalog:
                session = runtime.http
                if session is None:  # no registry and no JWKS URL: the chassis opened no client
                    session = aiohttp.ClientSession()
                    stack.push_async_callback(session.close)
                seeder = StockSeeder(SqlUnitOfWork(db),
                                     CatalogSkus(session, _catalog_url(settings, runtime)),
                                     settings.seed_quantity, on_failure=_seed_failed)
                runtime.health.add("stock-seeded", seeder.check)
                _background(stack, run_seeder(seeder), "inventory-seeder")
            yield

    return lifespan


def _background(stack: contextlib.AsyncExitStack, work: Coroutine[Any, Any, None],
                name: str) -> None:
    """Run ``work`` until the stack closes; then cancel it and wait for it to stop."""
    task = asyncio.create_task(work, name=name)

    async def stop() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stack.push_async_callback(stop)


def _catalog_url(settings: InventorySettings, runtime: Runtime) -> Callable[[], str | None]:
    def url() -> str | None:
        if settings.catalog_url:
            return settings.catalog_url
        instance = None if runtime.discovery is None else runtime.discovery.pick("catalog")
        return None if instance is None else str(instance.url)

    return url


def _seed_failed(exc: BaseException, retry_in: float) -> None:
    log.warning("stock seeding failed; retrying", error=str(exc) or repr(exc),
                retry_in=round(retry_in, 2))
