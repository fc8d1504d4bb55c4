"""Composition root of the cart: settings → chassis app, problem map, price client, handlers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from fastapi import FastAPI

from cart.adapters.catalog_prices import CATALOG, CatalogPriceSource
from cart.domain.errors import (
    CartFull,
    DuplicateSku,
    InvalidQuantity,
    InvalidSku,
    ItemNotFound,
    MixedCurrencies,
    PricingUnavailable,
    UnknownSku,
)
from cart.domain.pricing import PriceCache
from cart.entrypoints import http, messages
from cart.service.pricing import Pricer
from cart.settings import CartSettings
from chassis import create_service_app
from chassis.app import ServiceLifespan
from chassis.http import (
    AiohttpTransport,
    CircuitBreaker,
    ClientPolicy,
    Directory,
    ServiceClient,
    StaticDirectory,
)
from chassis.problems import ProblemMap
from chassis.runtime import Runtime

__all__ = ["MIGRATIONS", "PROBLEMS", "create_app"]

MIGRATIONS = Path(__file__).parent / "migrations"

PROBLEMS: ProblemMap = {
    InvalidSku: (400, "cart/invalid-sku"),
    InvalidQuantity: (422, "cart/invalid-quantity"),
    CartFull: (422, "cart/too-many-lines"),
    UnknownSku: (422, "cart/unknown-sku"),
    ItemNotFound: (404, "cart/item-not-found"),
    PricingUnavailable: (503, "cart/pricing-unavailable"),
    MixedCurrencies: (409, "cart/mixed-currencies"),
    DuplicateSku: (422, "cart/duplicate-sku"),
}


def create_app(settings: CartSettings | None = None) -> FastAPI:
    settings = settings or CartSettings()
    app = create_service_app(
        settings, title="Souk cart",
        description="A shopper's cart, priced from the catalog (cached prices while it is away).",
        problems=PROBLEMS, migrations=MIGRATIONS, lifespan=_lifespan(settings), messaging=True)
    app.include_router(http.router)
    return app


def _policy(settings: CartSettings) -> ClientPolicy:
    def breaker() -> CircuitBreaker:
        return CircuitBreaker(window=settings.breaker_window, min_calls=settings.breaker_min_calls,
                              failure_ratio=settings.breaker_failure_ratio,
                              open_seconds=settings.breaker_open_seconds)

    return ClientPolicy(attempt_timeout=settings.catalog_timeout,
                        deadline=settings.catalog_deadline,
                        max_retries=settings.catalog_max_retries,
                        max_in_flight=settings.catalog_max_in_flight, breaker=breaker)


def _lifespan(settings: CartSettings) -> ServiceLifespan:
    @asynccontextmanager
    async def lifespan(app: FastAPI, runtime: Runtime) -> AsyncIterator[None]:
        directory: Directory
        if settings.catalog_url:
            directory = StaticDirectory({CATALOG: settings.catalog_url})
        elif runtime.discovery is not None:
            directory = runtime.discovery
        else:
            raise RuntimeError("the cart needs CART_REGISTRY_URL or CART_CATALOG_URL")
        own_session = runtime.http is None
        session = aiohttp.ClientSession() if runtime.http is None else runtime.http
        client = ServiceClient(AiohttpTransport(session), directory, service=settings.service_name,
                               tokens=runtime.service_tokens, registry=runtime.metrics_registry,
                               policy=_policy(settings), tracing=runtime.tracing)
        cache = PriceCache(fresh_seconds=settings.price_fresh_seconds,
                           max_stale_seconds=settings.price_max_stale_seconds,
                           max_entries=settings.price_cache_entries)
        runtime.extras[http.PRICER] = Pricer(CatalogPriceSource(client), cache)
        if runtime.messaging is not None:
            runtime.messaging.subscribe(messages.handlers(runtime.require_db().dialect))
        try:
            yield
        finally:
            if own_session:
                await session.close()

    return lifespan
