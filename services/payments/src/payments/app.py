"""Composition root of payments: settings → chassis app with messaging, the fake processor, the
late authorizer, the command handlers and the HTTP router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from chassis import create_service_app
from chassis.app import ServiceLifespan
from chassis.logging import get_logger
from chassis.problems import ProblemMap
from chassis.runtime import Runtime
from payments.adapters.fake_processor import FakeCardProcessor
from payments.adapters.prometheus import PrometheusPaymentMetrics
from payments.adapters.sessions import message_sessions
from payments.domain.errors import InvalidCursor, PaymentNotFound
from payments.entrypoints import http
from payments.entrypoints.messages import PaymentCommandHandlers
from payments.service.late_authorizations import LateAuthorizer
from payments.settings import PaymentsSettings

__all__ = ["MIGRATIONS", "PROBLEMS", "create_app"]

MIGRATIONS = Path(__file__).parent / "migrations"

PROBLEMS: ProblemMap = {
    PaymentNotFound: (404, "payments/not-found"),
    InvalidCursor: (400, "payments/invalid-cursor"),
}


def create_app(settings: PaymentsSettings | None = None) -> FastAPI:
    settings = settings or PaymentsSettings()
    app = create_service_app(
        settings, title="Souk payments",
        description="Event-sourced payment ledger of the checkout: authorize, capture, void, "
                    "refund; a fake card processor.",
        problems=PROBLEMS, migrations=MIGRATIONS, lifespan=_ledger(settings),
        messaging=bool(settings.nats_url))
    app.include_router(http.router)
    return app


def _ledger(settings: PaymentsSettings) -> ServiceLifespan:
    @asynccontextmanager
    async def lifespan(app: FastAPI, runtime: Runtime) -> AsyncIterator[None]:
        if runtime.messaging is None:
            get_logger(__name__).warning("no NATS URL: serving reads only, consuming no commands")
            yield
            return
        processor = FakeCardProcessor(timeout_delay=settings.timeout_delay,
                                      decline_rate=settings.decline_rate,
                                      latency_ms=settings.latency_ms)
        metrics = PrometheusPaymentMetrics(runtime.metrics_registry)
        late = LateAuthorizer(message_sessions(runtime.messaging), processor, metrics,
                              max_in_flight=settings.max_pending_authorizations,
                              sweep_interval=settings.pending_sweep_interval)
        handlers = PaymentCommandHandlers(processor, metrics, late, runtime.require_db().dialect)
        runtime.messaging.subscribe(handlers.subscriptions())
        runtime.extras["late_authorizer"] = late
        await late.start()  # resumes every payment a crash left waiting for the processor
        try:
            yield
        finally:
            await late.stop()

    return lifespan
