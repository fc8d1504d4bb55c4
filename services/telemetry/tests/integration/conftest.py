"""Telemetry under test: the real app on uvicorn over real SQLite and PostgreSQL (the chassis's
``database_url`` runs every test on both), tokens from the chassis's test issuer.

Telemetry holds spans until their trace settles, so a test that reads what it sent first waits —
bounded — for ``settled()``: no span held or waiting to be stored any more. The ``telemetry``
fixture keeps every trace (keep ratio 1), settles after 50 ms and takes bodies up to 64 KiB;
``start_telemetry(**settings)`` runs it with other settings (or again, on the same database)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import pytest

from chassis.testing import TestIssuer
from chassis.testing.service import Reply, RunningService, start_service
from telemetry.app import create_app
from telemetry.settings import TelemetrySettings

ADMIN = ("admin",)
CUSTOMER = ("customer",)


class Telemetry(RunningService):
    async def export(self, body: bytes, content_type: str, **headers: str) -> Reply:
        """POST /v1/traces, as an exporter does: no token."""
        return await self.call("POST", "/v1/traces", data=body, user=None,
                               headers={"Content-Type": content_type, **headers})

    async def read(self, path: str, roles: tuple[str, ...] | None = ADMIN,
                   **params: Any) -> Reply:
        """GET ``path?params`` with a user token holding ``roles`` (None: no token)."""
        query = f"?{urlencode(params)}" if params else ""
        return await self.call("GET", path + query, user=None if roles is None else "user-1",
                               roles=roles or ())

    async def metrics(self) -> dict[str, float]:
        """The Prometheus samples of ``/metrics`` by name and labels, e.g.
        ``souk_telemetry_traces_kept_total{reason="error"}``."""
        reply = await self.call("GET", "/metrics", user=None)
        assert reply.status == 200
        samples = (line.rsplit(" ", 1) for line in reply.raw.decode().splitlines()
                   if line and not line.startswith("#"))
        return {name: float(value) for name, value in samples}

    async def settled(self, timeout: float = 10) -> dict[str, float]:
        """Wait until every span received has been decided and the kept ones stored; the
        metrics then."""
        deadline = time.monotonic() + timeout
        while True:
            metrics = await self.metrics()
            if metrics["souk_telemetry_spans_held"] == 0:
                return metrics
            assert time.monotonic() < deadline, f"spans still held after {timeout} s"
            await asyncio.sleep(0.02)


StartTelemetry = Callable[..., AbstractAsyncContextManager[Telemetry]]


@pytest.fixture
def start_telemetry(database_url: str, issuer: TestIssuer) -> StartTelemetry:
    """``async with start_telemetry(keep_ratio=0.0) as t:`` — telemetry with settings changed."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Telemetry]:
        settings = TelemetrySettings(**{
            "database_url": database_url, "log_level": "warning", "nats_url": "",
            "registry_url": "", "keep_ratio": 1.0, "settle_seconds": 0.05, **overrides})
        async with start_service(create_app(settings), issuer) as running:
            yield Telemetry(running.app, running.url, running.http, running.issuer)

    return start


@pytest.fixture
async def telemetry(start_telemetry: StartTelemetry) -> AsyncIterator[Telemetry]:
    async with start_telemetry(max_body_bytes=64 * 1024) as running:
        yield running
