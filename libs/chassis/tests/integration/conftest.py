"""Fixtures the messaging tests share: a database with the chassis's messaging tables, on SQLite
and (``postgres`` marker) PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chassis.db import Database, migrate, open_database
from chassis.testing import temporary_database

MIGRATIONS = Path(__file__).parent / "messaging_migrations"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    async with temporary_database(request.param, tmp_path, "messaging") as url:
        await migrate(url, MIGRATIONS)
        database = open_database(url)
        await database.connect()
        yield database
        await database.close()
