"""Apply a service's Alembic migrations at start-up, safely when several instances start at once.

Each service keeps its revisions in ``services/<name>/src/<name>/migrations``; its ``env.py`` is the
two lines that call :func:`chassis.db.alembic_env.run`. Concurrent starters are serialised by a file
lock (SQLite) or an advisory lock (PostgreSQL), so the second one finds the schema at head.
"""

from __future__ import annotations

import asyncio
import fcntl
import zlib
from pathlib import Path
from typing import Any

__all__ = ["migrate"]


def _config(script_location: Path, connection: Any) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Any, script_location: Path) -> None:
    from alembic import command

    command.upgrade(_config(script_location, connection), "head")


def _migrate_sqlite(path: str, script_location: Path) -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path + ".migrate-lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
            with engine.connect() as conn:
                _upgrade(conn, script_location)
                conn.commit()
            engine.dispose()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


async def _migrate_postgres(url: str, script_location: Path) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.pool import NullPool

    from chassis.db.postgres import asyncpg_dsn

    sa_url = asyncpg_dsn(url).replace("postgresql://", "postgresql+asyncpg://", 1)
    key = zlib.crc32(str(script_location).encode())
    engine = create_async_engine(sa_url, poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                await conn.run_sync(_upgrade, script_location)
                await conn.commit()
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                await conn.commit()
    finally:
        await engine.dispose()


async def migrate(url: str, script_location: str | Path) -> None:
    """Upgrade the database at ``url`` to the newest revision found in ``script_location``."""
    location = Path(script_location)
    if not (location / "env.py").is_file():
        raise FileNotFoundError(f"no Alembic env.py in {location}")
    if url.startswith("sqlite:"):
        from chassis.db.sqlite import sqlite_path

        await asyncio.to_thread(_migrate_sqlite, sqlite_path(url), location)
    else:
        await _migrate_postgres(url, location)
