"""Composition root of the catalog: settings → the chassis app, its problem map, the demo seed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from catalog.adapters.demo_catalog import demo_catalog
from catalog.adapters.sql import SqlCatalog
from catalog.domain import errors
from catalog.entrypoints import http
from catalog.service.context import CatalogContext
from catalog.service.seeding import seed_catalog
from catalog.settings import CatalogSettings
from chassis import create_service_app
from chassis.app import ServiceLifespan
from chassis.db import SqlUnitOfWork
from chassis.logging import get_logger
from chassis.problems import ProblemMap
from chassis.runtime import Runtime
from chassis.web import App

__all__ = ["PROBLEMS", "create_app"]

PROBLEMS: ProblemMap = {
    errors.ProductNotFound: (404, "catalog/product-not-found"),
    errors.CategoryNotFound: (404, "catalog/category-not-found"),
    errors.SkuTaken: (409, "catalog/sku-taken"),
    errors.UnknownCategory: (422, "catalog/unknown-category"),
    errors.InvalidProduct: (422, "catalog/invalid-product"),
}


def create_app(settings: CatalogSettings | None = None) -> App:
    """The catalog app; ``settings`` default to the ``CATALOG_*`` environment."""
    settings = settings or CatalogSettings.load()
    return create_service_app(
        settings, description="Products, categories and prices: list, search, look up by id or SKU; admins "
                              "add, revise and retire products.",
        routers=[http.router], problems=PROBLEMS,
        lifespan=_bootstrap(settings))  # no messages; the broker carries its live settings


def _bootstrap(settings: CatalogSettings) -> ServiceLifespan:
    @asynccontextmanager
    async def lifespan(app: App, runtime: Runtime) -> AsyncIterator[None]:
        uow = SqlUnitOfWork(runtime.transaction, SqlCatalog)
        if settings.seed_demo:
            report = await seed_catalog(uow, demo_catalog(datetime.now(UTC)))
            get_logger(__name__).info("demo catalog seeded",
                                      categories_added=report.categories_added,
                                      products_added=report.products_added)
        app.provide(CatalogContext(uow=uow))
        yield

    return lifespan
