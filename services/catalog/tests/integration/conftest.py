"""The catalog under test: its real app on uvicorn over real HTTP (the chassis's fixtures run each
test on SQLite and on PostgreSQL), the demo catalog seeded, tokens from the test issuer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest

from catalog.app import create_app
from catalog.settings import CatalogSettings
from chassis.db import Database
from chassis.testing import TestIssuer, connected_database
from chassis.testing.service import Reply, RunningService, start_service

DEMO_PRODUCT_COUNT = 72
PROBLEM = "application/problem+json"


def catalog_settings(database_url: str, **overrides: Any) -> CatalogSettings:
    values: dict[str, Any] = {"database_url": database_url, "log_level": "warning",
                              "nats_url": "", "registry_url": "", **overrides}
    return CatalogSettings(**values)


class Catalog(RunningService):
    async def get(self, path: str, **params: str | int) -> Reply:
        """A public read: no token."""
        query = f"?{urlencode(params)}" if params else ""
        return await self.call("GET", path + query, user=None)

    async def admin(self, method: str, path: str, body: Any = None) -> Reply:
        return await self.call(method, path, body, user="admin-1", roles=("admin",))


@pytest.fixture
async def catalog(database_url: str, issuer: TestIssuer) -> AsyncIterator[Catalog]:
    """The real app, demo catalog seeded, served on a free port."""
    async with start_service(create_app(catalog_settings(database_url)), issuer) as running:
        yield Catalog(running.app, running.url, running.http, running.issuer)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The migrated, empty catalog database, connected."""
    async with connected_database(database_url, "catalog") as db:
        yield db
