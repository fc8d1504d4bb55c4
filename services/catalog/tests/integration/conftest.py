"""Every integration test runs on SQLite (a file in tmp_path) and on PostgreSQL (a fresh database
on ``SOUK_TEST_POSTGRES_URL``; skipped with the reason when that is unset)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from catalog.app import MIGRATIONS, create_app
from catalog.settings import CatalogSettings
from chassis.db import Database, migrate, open_database
from chassis.testing import serve_app, temporary_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with temporary_database(request.param, tmp_path, "catalog") as url:
        yield url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The migrated, empty catalog database, connected."""
    await migrate(database_url, MIGRATIONS)
    db = open_database(database_url)
    await db.connect()
    try:
        yield db
    finally:
        await db.close()


def catalog_settings(database_url: str, **overrides: Any) -> CatalogSettings:
    return CatalogSettings(database_url=database_url, log_level="warning", nats_url="",
                           registry_url="", **overrides)


@dataclass(frozen=True)
class RunningCatalog:
    http: aiohttp.ClientSession  # base URL set: ``http.get("/v1/products")``
    database_url: str

    async def get(self, path: str, **params: Any) -> tuple[int, str, Any]:
        """(status, content type, JSON body) of a GET."""
        async with self.http.get(path, params=params) as response:
            return response.status, response.content_type, await response.json(content_type=None)


@pytest.fixture
async def catalog(database_url: str) -> AsyncIterator[RunningCatalog]:
    """The real app, demo catalog seeded, under uvicorn on a free port."""
    app = create_app(catalog_settings(database_url))
    async with serve_app(app) as base_url, aiohttp.ClientSession(base_url) as session:
        yield RunningCatalog(session, database_url)
