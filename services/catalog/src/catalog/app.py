"""Composition root of the catalog: settings → chassis app, problem map, seeding, router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI

from catalog.adapters.demo_catalog import demo_catalog
from catalog.adapters.sql import SqlUnitOfWork
from catalog.domain.errors import (
    CategoryNotFound,
    InvalidCursor,
    InvalidProduct,
    ProductNotFound,
    SkuTaken,
    UnknownCategory,
)
from catalog.entrypoints import http
from catalog.service.seeding import seed_catalog
from catalog.settings import CatalogSettings
from chassis import create_service_app
from chassis.app import ServiceLifespan
from chassis.logging import get_logger
from chassis.problems import ProblemMap
from chassis.runtime import Runtime

__all__ = ["MIGRATIONS", "PROBLEMS", "create_app"]

MIGRATIONS = Path(__file__).parent / "migrations"

PROBLEMS: ProblemMap = {
    ProductNotFound: (404, "catalog/product-not-found"),
    CategoryNotFound: (404, "catalog/category-not-found"),
    InvalidCursor: (400, "catalog/invalid-cursor"),
    SkuTaken: (409, "catalog/sku-taken"),
    UnknownCategory: (422, "catalog/unknown-category"),
    InvalidProduct: (422, "catalog/invalid-product"),
}


def create_app(settings: CatalogSettings | None = None) -> FastAPI:
    settings = settings or CatalogSettings()
    app = create_service_app(
        settings, title="Souk catalog",
        description="Products, categories and prices: list, search, look up by id or SKU.",
        problems=PROBLEMS, migrations=MIGRATIONS, lifespan=_seed_demo_when_enabled(settings),
        use_broker=False)  # the catalog publishes and consumes no messages yet
    app.include_router(http.router)
    return app


def _seed_demo_when_enabled(settings: CatalogSettings) -> ServiceLifespan:
    @asynccontextmanager
    async def lifespan(app: FastAPI, runtime: Runtime) -> AsyncIterator[None]:
        if settings.seed_demo:
            uow = SqlUnitOfWork(runtime.require_db())
            report = await seed_catalog(uow, demo_catalog(datetime.now(UTC)))
            get_logger(__name__).info("demo catalog seeded",
                                      categories_added=report.categories_added,
                                      products_added=report.products_added)
        yield

    return lifespan
