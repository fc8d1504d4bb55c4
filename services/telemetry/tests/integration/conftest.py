"""Every integration test runs on SQLite (a file in tmp_path) and on PostgreSQL (a fresh database
on ``SOUK_TEST_POSTGRES_URL``; skipped with the reason when that is unset)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from chassis.testing import TestIssuer, serve_app, temporary_database
from telemetry.app import create_app
from telemetry.settings import TelemetrySettings

ISSUER = TestIssuer()
ADMIN = ISSUER.mint(sub="admin-1", roles=("admin",))
CUSTOMER = ISSUER.mint(sub="customer-1", roles=("customer",))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with temporary_database(request.param, tmp_path, "telemetry") as url:
        yield url


def telemetry_settings(database_url: str, **overrides: Any) -> TelemetrySettings:
    return TelemetrySettings(database_url=database_url, log_level="warning", nats_url="",
                             registry_url="", **overrides)


@dataclass(frozen=True)
class RunningTelemetry:
    http: aiohttp.ClientSession  # base URL set
    base_url: str

    async def get(self, path: str, token: str | None = ADMIN, **params: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.get(path, params=params, headers=headers) as response:
            return response.status, await response.json(content_type=None)

    async def post(self, body: bytes, content_type: str,
                   **headers: str) -> tuple[int, str, bytes]:
        async with self.http.post("/v1/traces", data=body,
                                  headers={"Content-Type": content_type, **headers}) as response:
            return response.status, response.content_type, await response.read()


async def start(database_url: str, **overrides: Any) -> AsyncIterator[RunningTelemetry]:
    app = create_app(telemetry_settings(database_url, **overrides))

    app.state.runtime.verifier = ISSUER.verifier()
    async with serve_app(app) as base_url, aiohttp.ClientSession(base_url) as session:
        yield RunningTelemetry(session, base_url)


@pytest.fixture
async def telemetry(database_url: str) -> AsyncIterator[RunningTelemetry]:
    """The real app under uvicorn on a free port, tokens of ``ISSUER`` accepted."""
    async for running in start(database_url, max_body_bytes=64 * 1024):
        yield running
