"""Composition root of telemetry: settings → the chassis app, the trace store, the tail sampler
and its decision rounds, pruning."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from chassis import create_service_app
from chassis.app import ServiceLifespan
from chassis.db import service_migrations
from chassis.live import Live, LiveSettings
from chassis.problems import ProblemMap
from chassis.runtime import Runtime
from chassis.web import App
from telemetry.adapters.metrics import PrometheusTailMetrics
from telemetry.adapters.sql import trace_unit_of_work
from telemetry.domain import errors
from telemetry.domain.holding import Decisions, TraceBuffer
from telemetry.domain.keep import KeepRules
from telemetry.entrypoints import http
from telemetry.service.context import TelemetryContext
from telemetry.service.ports import TailMetrics, TraceUnitOfWork
from telemetry.service.pruning import prune
from telemetry.service.tail import TailSampler
from telemetry.settings import TelemetrySettings

__all__ = ["MIGRATIONS", "PROBLEMS", "create_app", "decision_interval", "tail_sampler"]

MIGRATIONS = service_migrations("telemetry")  # bench/ migrates its trace store with it

PROBLEMS: ProblemMap = {
    errors.InvalidExport: (400, "telemetry/invalid-export"),
    errors.InvalidTraceId: (400, "telemetry/invalid-trace-id"),
    errors.TraceNotFound: (404, "telemetry/trace-not-found"),
}


def create_app(settings: TelemetrySettings | None = None) -> App:
    settings = settings or TelemetrySettings.load()
    app = create_service_app(
        settings, description="OTLP/HTTP trace receiver and trace search (embedded default only; in "
                              "production a collector such as Jaeger or Tempo takes its place).",
        routers=[http.router], problems=PROBLEMS,
        lifespan=_bootstrap(settings))
    # an export carries a second of a service's spans: bodies are larger than elsewhere
    app.max_body = settings.max_body_bytes
    return app


def tail_sampler(uow: TraceUnitOfWork, settings: TelemetrySettings,
                 metrics: TailMetrics) -> TailSampler:
    """The tail sampler as ``settings`` describe it."""
    return TailSampler(
        uow, rules=KeepRules(keep_ratio=settings.keep_ratio, slow_ms=settings.slow_ms),
        buffer=TraceBuffer(settle_seconds=settings.settle_seconds,
                           max_hold_seconds=settings.max_hold_seconds,
                           max_spans=settings.max_held_spans),
        decisions=Decisions(settings.remembered_decisions), metrics=metrics,
        max_kept_per_second=settings.max_kept_per_second)


def follow_live_keep_ratio(live: Live[Any], sampler: TailSampler,
                           settings: TelemetrySettings) -> None:
    """The store keeps by the live ``trace_keep_ratio`` once one is stored (platform-wide or
    telemetry's own), as the services export by it: ``souk config set trace_keep_ratio 1`` then
    keeps every trace, not only the services' exports of them. Unset, the store's static
    ``keep_ratio`` applies again."""

    def stored() -> bool:
        return live.sources()["trace_keep_ratio"] != "static"

    def apply(values: LiveSettings) -> None:
        ratio = values.trace_keep_ratio if stored() else settings.keep_ratio
        sampler.rules = KeepRules(keep_ratio=ratio, slow_ms=settings.slow_ms)

    live.bind(apply, "trace_keep_ratio", now=stored())


def decision_interval(settings: TelemetrySettings) -> float:
    """Seconds between decision rounds: a few per settle time, so a trace is decided at most a
    quarter of it late."""
    return min(0.5, max(0.01, settings.settle_seconds / 4))


def _bootstrap(settings: TelemetrySettings) -> ServiceLifespan:
    @asynccontextmanager
    async def lifespan(app: App, runtime: Runtime) -> AsyncIterator[None]:
        uow = trace_unit_of_work(runtime.transaction)
        sampler = tail_sampler(uow, settings, PrometheusTailMetrics(runtime.metrics_registry))
        app.provide(TelemetryContext(uow=uow, sampler=sampler))
        if runtime.live is not None:
            follow_live_keep_ratio(runtime.live, sampler, settings)
        # No wake-up when memory runs short: accept() then decides the oldest traces at once,
        # and the kept ones wait at most one interval for the store, counted against
        # max_held_spans meanwhile, so memory stays bounded without a task of its own.
        runtime.background.every(decision_interval(settings), sampler.flush,
                                 name="telemetry-decisions")
        max_age_ns = int(settings.max_age_seconds * 1e9)
        runtime.background.every(
            settings.prune_interval_seconds,
            lambda: prune(uow, max_traces=settings.max_traces, max_age_ns=max_age_ns,
                          now_ns=time.time_ns()),
            name="telemetry-prune")
        try:
            yield
        finally:
            # before the database closes: decide and store every trace still held
            await sampler.close()

    return lifespan
