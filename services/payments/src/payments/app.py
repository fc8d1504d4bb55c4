"""Composition root of payments: settings → the chassis app, the fake processor, the late
authorizer and its periodic resume."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from chassis import create_service_app
from chassis.app import ServiceLifespan
from chassis.db import SqlUnitOfWork
from chassis.problems import ProblemMap
from chassis.runtime import Runtime
from chassis.web import App
from payments.adapters.fake_processor import FakeCardProcessor
from payments.adapters.prometheus import PrometheusPaymentMetrics
from payments.adapters.sql import SqlPayments
from payments.domain import errors
from payments.entrypoints import http, messages
from payments.service.context import PaymentsContext
from payments.service.late_authorizations import LateAuthorizer
from payments.service.ports import CardProcessor, Lease
from payments.settings import PaymentsLive, PaymentsSettings

__all__ = ["PROBLEMS", "create_app"]

PROBLEMS: ProblemMap = {
    errors.PaymentNotFound: (404, "payments/not-found"),
}


def create_app(settings: PaymentsSettings | None = None, *,
               processor: CardProcessor | None = None) -> App:
    """``processor`` replaces the fake processor built from the settings (tests)."""
    settings = settings or PaymentsSettings.load()
    return create_service_app(
        settings, description="Event-sourced payment ledger of the checkout: authorize, capture, void, "
                              "refund; a fake card processor.",
        routers=[http.router], handlers=messages.handlers, problems=PROBLEMS,
        lifespan=_bootstrap(settings, processor), live=PaymentsLive)


def _bootstrap(settings: PaymentsSettings, processor: CardProcessor | None) -> ServiceLifespan:
    @asynccontextmanager
    async def lifespan(app: App, runtime: Runtime) -> AsyncIterator[None]:
        uow = SqlUnitOfWork(runtime.transaction, SqlPayments)
        card = processor or FakeCardProcessor(timeout_delay=settings.timeout_delay,
                                              decline_rate=settings.decline_rate,
                                              latency_ms=settings.latency_ms)
        if isinstance(card, FakeCardProcessor):  # the decline rate and latency are live
            fake = card
            runtime.live_settings(PaymentsLive).bind(
                lambda live: fake.configure(decline_rate=live.decline_rate,
                                            latency_ms=live.latency_ms),
                "decline_rate", "latency_ms")
        metrics = PrometheusPaymentMetrics(runtime.metrics_registry)
        late = LateAuthorizer(uow, card, metrics,
                              max_in_flight=settings.max_pending_authorizations,
                              lease=Lease(settings.instance_id, settings.claim_lease))
        app.provide(PaymentsContext(uow=uow, metrics=metrics, late=late))
        # the first run resumes every payment a crash left waiting for the processor
        runtime.background.every(settings.pending_sweep_interval, late.resume,
                                 name="pending-authorizations")
        try:
            yield
        finally:
            await late.stop()

    return lifespan
