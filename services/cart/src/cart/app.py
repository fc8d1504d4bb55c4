"""Composition root of the cart: settings → the chassis app, its problem map, the pricer (the
catalog through the chassis's service client, behind a price cache), the message handler."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from cart.adapters.catalog_prices import CATALOG, CatalogPriceSource
from cart.adapters.sql import SqlCarts
from cart.domain import errors
from cart.domain.pricing import PriceCache
from cart.entrypoints import http, messages
from cart.service.context import CartContext
from cart.service.ports import PriceSource
from cart.service.pricing import Pricer
from cart.settings import CartSettings
from chassis import create_service_app
from chassis.app import ServiceLifespan
from chassis.db import SqlUnitOfWork
from chassis.http import CircuitBreaker, ClientPolicy
from chassis.problems import ProblemMap
from chassis.runtime import Runtime
from chassis.web import App

__all__ = ["PROBLEMS", "create_app"]

PROBLEMS: ProblemMap = {
    errors.InvalidSku: (400, "cart/invalid-sku"),
    errors.InvalidQuantity: (422, "cart/invalid-quantity"),
    errors.CartFull: (422, "cart/too-many-lines"),
    errors.UnknownSku: (422, "cart/unknown-sku"),
    errors.ItemNotFound: (404, "cart/item-not-found"),
    errors.PricingUnavailable: (503, "cart/pricing-unavailable"),
    errors.MixedCurrencies: (409, "cart/mixed-currencies"),
    errors.AddKeyReused: (422, "cart/idempotency-key-reused"),
    errors.DuplicateSku: (422, "cart/duplicate-sku"),
    errors.CartChanged: (412, "cart/changed"),
}


def create_app(settings: CartSettings | None = None, *,
               prices: PriceSource | None = None) -> App:
    """The cart app; ``settings`` default to the ``CART_*`` environment. ``prices`` replaces the
    catalog behind the price cache (tests)."""
    settings = settings or CartSettings.load()
    return create_service_app(
        settings, description="A shopper's cart, priced from the catalog (cached prices, flagged stale, "
                              "while it is away); emptied of what was ordered once an order is confirmed.",
        routers=[http.router], handlers=messages.handlers, problems=PROBLEMS,
        lifespan=_bootstrap(settings, prices))


def _policy(settings: CartSettings) -> ClientPolicy:
    def breaker() -> CircuitBreaker:
        return CircuitBreaker(window=settings.breaker_window, min_calls=settings.breaker_min_calls,
                              failure_ratio=settings.breaker_failure_ratio,
                              open_seconds=settings.breaker_open_seconds)

    return ClientPolicy(attempt_timeout=settings.catalog_timeout,
                        deadline=settings.catalog_deadline,
                        max_retries=settings.catalog_max_retries,
                        max_in_flight=settings.catalog_max_in_flight, breaker=breaker)


def _bootstrap(settings: CartSettings, prices: PriceSource | None) -> ServiceLifespan:
    @asynccontextmanager
    async def lifespan(app: App, runtime: Runtime) -> AsyncIterator[None]:
        source = prices or CatalogPriceSource(runtime.service_client(
            policy=_policy(settings), urls={CATALOG: settings.catalog_url}))
        cache = PriceCache(fresh_seconds=settings.price_fresh_seconds,
                           max_stale_seconds=settings.price_max_stale_seconds,
                           max_entries=settings.price_cache_entries)
        app.provide(CartContext(uow=SqlUnitOfWork(runtime.transaction, SqlCarts),
                                pricer=Pricer(source, cache),
                                default_currency=settings.default_currency))
        yield

    return lifespan
