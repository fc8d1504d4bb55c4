"""Integration tests run on SQLite (a file in tmp_path) and on PostgreSQL (a fresh database on
``SOUK_TEST_POSTGRES_URL``; skipped with the reason when that is unset)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from chassis.db import Database, migrate, open_database
from chassis.testing import nats_server, temporary_database
from inventory.app import MIGRATIONS
from inventory.settings import InventorySettings


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with temporary_database(request.param, tmp_path, "inventory") as url:
        yield url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The migrated, empty inventory database, connected."""
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


def inventory_settings(database_url: str, **overrides: Any) -> InventorySettings:
    values: dict[str, Any] = {"database_url": database_url, "log_level": "warning",
                              "nats_url": "", "registry_url": "", "seed_from_catalog": False}
    return InventorySettings(**(values | overrides))


async def eventually(predicate: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")
