"""Integration tests run on SQLite (a file in tmp_path) and on PostgreSQL (a fresh database on
``SOUK_TEST_POSTGRES_URL``; skipped with the reason when that is unset)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from chassis.db import Database, migrate, open_database
from chassis.testing import temporary_database
from payments.app import MIGRATIONS
from payments.settings import PaymentsSettings


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with temporary_database(request.param, tmp_path, "payments") as url:
        yield url


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """The migrated, empty payments database, connected."""
    await migrate(database_url, MIGRATIONS)
    db = open_database(database_url)
    await db.connect()
    try:
        yield db
    finally:
        await db.close()


def payments_settings(database_url: str, **overrides: Any) -> PaymentsSettings:
    defaults: dict[str, Any] = {"log_level": "warning", "nats_url": "", "registry_url": ""}
    return PaymentsSettings(database_url=database_url, **(defaults | overrides))
