"""A new service's one call makes the messaging tables the first services reached in four
revisions: the same tables, columns, keys and indexes (on SQLite, and on PostgreSQL where
SOUK_TEST_POSTGRES_URL is set)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chassis.messaging.schema import (
    MESSAGING_TABLES,
    create_current_messaging_tables,
    create_message_failures_table,
    create_messaging_tables,
    drop_current_messaging_tables,
    index_inbox_by_age,
    slim_messaging_tables,
)

pytestmark = pytest.mark.integration


def four_revisions(op: Any) -> None:
    create_messaging_tables(op)  # 0001
    slim_messaging_tables(op)  # 0002
    index_inbox_by_age(op)  # 0003
    create_message_failures_table(op)  # 0004


def schema_of(conn: Any, build: Callable[[Any], None], schema: str | None = None
              ) -> dict[str, Any]:
    """``build`` run with Alembic's ``op`` on ``conn`` (in ``schema``), then what it made."""
    import sqlalchemy as sa
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    if schema is not None:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        conn.execute(sa.text(f'SET search_path TO "{schema}"'))
    build(Operations(MigrationContext.configure(conn)))
    inspector = sa.inspect(conn)
    return {table: {
        "columns": [(c["name"], str(c["type"]), c["nullable"])
                    for c in inspector.get_columns(table, schema=schema)],
        "primary key": inspector.get_pk_constraint(table, schema=schema)["constrained_columns"],
        "unique": sorted(tuple(u["column_names"])
                         for u in inspector.get_unique_constraints(table, schema=schema)),
        "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                          for i in inspector.get_indexes(table, schema=schema)),
    } for table in sorted(inspector.get_table_names(schema=schema))}


def schema_after(engine: Any, build: Callable[[Any], None]) -> dict[str, Any]:
    with engine.begin() as conn:
        return schema_of(conn, build)


def test_on_sqlite(tmp_path: Path) -> None:
    import sqlalchemy as sa

    old = schema_after(sa.create_engine(f"sqlite:///{tmp_path / 'old.db'}"), four_revisions)
    new = schema_after(sa.create_engine(f"sqlite:///{tmp_path / 'new.db'}"),
                       create_current_messaging_tables)

    assert sorted(new) == sorted(MESSAGING_TABLES)
    assert new == old


def test_on_postgres() -> None:
    url = os.environ.get("SOUK_TEST_POSTGRES_URL", "")
    if not url:
        pytest.skip("SOUK_TEST_POSTGRES_URL is not set (e.g. postgresql://postgres@127.0.0.1:5432/"
                    "postgres)")
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    from chassis.db.postgres import asyncpg_dsn

    old_name, new_name = (f"souk_schema_{uuid.uuid4().hex[:8]}" for _ in range(2))

    async def both() -> tuple[dict[str, Any], dict[str, Any]]:
        engine = create_async_engine(
            asyncpg_dsn(url).replace("postgresql://", "postgresql+asyncpg://", 1),
            poolclass=NullPool)
        try:
            async with engine.begin() as conn:
                old = await conn.run_sync(schema_of, four_revisions, old_name)
                new = await conn.run_sync(schema_of, create_current_messaging_tables, new_name)
                for name in (old_name, new_name):  # nothing left behind
                    await conn.execute(sa.text(f'DROP SCHEMA "{name}" CASCADE'))
                return old, new
        finally:
            await engine.dispose()

    old, new = asyncio.run(both())

    assert sorted(new) == sorted(MESSAGING_TABLES)
    assert new == old


def test_the_current_tables_are_dropped_as_made(tmp_path: Path) -> None:
    import sqlalchemy as sa
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    engine = sa.create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.begin() as conn:
        op = Operations(MigrationContext.configure(conn))
        create_current_messaging_tables(op)
        drop_current_messaging_tables(op)
        assert sa.inspect(conn).get_table_names() == []


async def test_a_service_whose_database_lacks_a_messaging_table_refuses_to_start(
        tmp_path: Path) -> None:
    """A new service that called only the first revision's `create_messaging_tables` started,
    looked ready and passed its happy paths, but a failing handler was retried for ever: its
    failures could not be recorded (no `message_failures`). It now stops at start, saying so."""
    import shutil

    from chassis import ServiceSettings, create_service_app
    from chassis.testing import nats_server
    from chassis.testing.asgi import AsgiClient

    migrations = tmp_path / "migrations"
    shutil.copytree(Path(__file__).parent / "messaging_migrations", migrations,
                    ignore=shutil.ignore_patterns("__pycache__", "000[2-9]_*"))
    assert sorted(p.name for p in (migrations / "versions").iterdir()) == ["0001_messaging.py"]
    with nats_server(tmp_path / "js") as nats_url:
        settings = ServiceSettings(service_name="demo", port=1, nats_url=nats_url,
                                   database_url=f"sqlite:///{tmp_path / 'demo.db'}")
        app = create_service_app(settings, title="demo", migrations=migrations, messaging=True,
                                 verify_tokens=False, register=False)
        with pytest.raises(RuntimeError) as refused:
            async with AsgiClient(app):
                pass

    said = str(refused.value)
    assert "demo's database lacks messaging tables: message_failures" in said
    assert "create_current_messaging_tables(op)" in said
    assert "outbox" not in said.split("tables:")[1].split(".")[0]  # only what is missing
