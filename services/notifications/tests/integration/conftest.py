"""Integration tests run on SQLite (a file in tmp_path) and on PostgreSQL (a fresh database on
``SOUK_TEST_POSTGRES_URL``; skipped with the reason when unset); the running app gets its own
real nats-server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import nats
import pytest
from fastapi import FastAPI

from chassis.db import Database, migrate, open_database
from chassis.messaging import subject_for
from chassis.testing import TestIssuer, nats_server, serve_app, temporary_database
from contracts import Event
from notifications.app import MIGRATIONS, create_app
from notifications.settings import NotificationsSettings

ISSUER = TestIssuer()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with temporary_database(request.param, tmp_path, "notifications") as url:
        yield url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The migrated, empty notifications database, connected."""
    await migrate(database_url, MIGRATIONS)
    db = open_database(database_url)
    await db.connect()
    try:
        yield db
    finally:
        await db.close()


@pytest.fixture
def nats_url() -> Iterator[str]:
    with nats_server() as url:
        yield url


def with_test_issuer(app: FastAPI) -> FastAPI:
    app.state.runtime.verifier = ISSUER.verifier()
    return app


@dataclass(frozen=True)
class RunningService:
    http: aiohttp.ClientSession  # base URL set
    app: FastAPI
    nats_url: str

    async def get(self, path: str, token: str | None = None,
                  **params: Any) -> tuple[int, str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.get(path, params=params, headers=headers) as response:
            return response.status, response.content_type, await response.json(content_type=None)

    async def publish(self, event: Event, *, souk_id: str, nats_id: str | None = None) -> None:
        """Publish straight to JetStream, as another service's relay would."""
        nc = await nats.connect(self.nats_url)
        try:
            await nc.jetstream().publish(
                subject_for(event), event.model_dump_json().encode(),
                headers={"Nats-Msg-Id": nats_id or souk_id, "Souk-Msg-Id": souk_id,
                         "Souk-Type": event.TYPE, "Souk-Correlation-Id": souk_id.split(".")[0]})
        finally:
            await nc.close()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


@pytest.fixture
async def service(database_url: str, nats_url: str) -> AsyncIterator[RunningService]:
    """The real app under uvicorn on a free port, its consumer started."""
    app = with_test_issuer(create_app(NotificationsSettings(
        database_url=database_url, nats_url=nats_url, registry_url="", log_level="warning")))
    async with serve_app(app) as base_url, aiohttp.ClientSession(base_url) as session:
        await app.state.runtime.require_messaging().wait_started(15)
        yield RunningService(session, app, nats_url)
