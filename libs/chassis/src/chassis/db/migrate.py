"""Apply a service's Alembic migrations at start-up, safely when several instances start at once.

Each service keeps its revisions in ``services/<name>/src/<name>/migrations``; its ``env.py`` is the
two lines that call :func:`chassis.db.alembic_env.run`. Concurrent starters are serialised by a file
lock (SQLite) or an advisory lock (PostgreSQL), so the second one finds the schema at head.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import importlib.util
import json
import re
import sqlite3
import sys
import zlib
from pathlib import Path
from typing import Any

__all__ = ["head_revision", "migrate", "migrate_isolated", "package_migrations",
           "service_migrations"]


def service_migrations(package: str) -> Path:
    """Where a service keeps its Alembic revisions: the ``migrations`` folder inside its package
    (``"orders"`` → ``…/orders/migrations``)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise LookupError(f"{package!r} is not an importable package")
    return Path(next(iter(spec.submodule_search_locations))) / "migrations"


def package_migrations(package: str) -> Path | None:
    """The migrations folder of ``package`` if it has one (None for a module that is not an
    importable package, or a package without migrations)."""
    try:
        folder = service_migrations(package)
    except (LookupError, ValueError):  # a plain module, or __main__
        return None
    return folder if folder.is_dir() else None


def _config(script_location: Path, connection: Any) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(script_location))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Any, script_location: Path, to: str = "head") -> None:
    from alembic import command

    command.upgrade(_config(script_location, connection), to)


def _migrate_sqlite(path: str, script_location: Path, to: str = "head") -> None:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path + ".migrate-lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            engine = create_engine(f"sqlite:///{path}", poolclass=NullPool)
            with engine.connect() as conn:
                _upgrade(conn, script_location, to)
                conn.commit()
            engine.dispose()
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


async def _migrate_postgres(url: str, script_location: Path, to: str = "head") -> None:
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
                await conn.run_sync(_upgrade, script_location, to)
                await conn.commit()
            finally:
                await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                await conn.commit()
    finally:
        await engine.dispose()


_REVISION = re.compile(r"^revision\s*(?::[^=]+)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]+)?=\s*(None|['\"]([^'\"]+)['\"])", re.MULTILINE)


def head_revision(location: Path) -> str | None:
    """The single head of a linear revision history, read from the files without importing
    Alembic (~0.4 s of a restart); None when it cannot be told that simply (branches, merges)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (location / "versions").glob("*.py"):
        text = path.read_text()
        rev, down = _REVISION.search(text), _DOWN.search(text)
        if rev is None or down is None:
            return None
        revisions.add(rev.group(1))
        if down.group(2):
            parents.add(down.group(2))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


async def _current_revision(url: str) -> str | None:
    try:
        if url.startswith("sqlite:"):
            from chassis.db.sqlite import sqlite_path

            path = sqlite_path(url)
            if not Path(path).exists():  # noqa: ASYNC240 - one stat() at start-up
                return None
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
                row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        else:
            import asyncpg

            from chassis.db.postgres import asyncpg_dsn

            conn = await asyncpg.connect(asyncpg_dsn(url))
            try:
                row = await conn.fetchrow("SELECT version_num FROM alembic_version")
            finally:
                await conn.close()
    except Exception:  # no table yet, or unreadable: let Alembic decide
        return None
    return None if row is None else str(row[0])


async def migrate(url: str, script_location: str | Path, *, to: str = "head") -> None:
    """Upgrade the database at ``url`` to the newest revision found in ``script_location`` (or
    to revision ``to``: a migration's test, with the data it must build on)."""
    location = Path(script_location)
    if not (location / "env.py").is_file():
        raise FileNotFoundError(f"no Alembic env.py in {location}")
    head = head_revision(location) if to == "head" else to
    if head is not None and await _current_revision(url) == head:
        return  # already at head: the common restart case
    if url.startswith("sqlite:"):
        from chassis.db.sqlite import sqlite_path

        await asyncio.to_thread(_migrate_sqlite, sqlite_path(url), location, to)
    else:
        await _migrate_postgres(url, location, to)


async def migrate_isolated(*targets: tuple[str, str | Path]) -> None:
    """:func:`migrate` each ``(url, script_location)`` that is behind, all in one child process:
    Alembic and SQLAlchemy cost ~20 MB of memory that a long-running service would otherwise keep
    for nothing, and importing them ~0.5 s of CPU, paid once for all the targets (the launcher
    migrates every service's database this way before starting them; each service then finds its
    schema at head and starts without a child of its own)."""
    behind: list[tuple[str, str]] = []
    for url, script_location in targets:
        location = Path(script_location)
        head = head_revision(location)
        if head is None or await _current_revision(url) != head:
            behind.append((url, str(location)))
    if not behind:
        return
    # not "-m chassis.db.migrate": chassis.db imports this module first, and runpy then warns on
    # stderr (RuntimeWarning), a line that is not JSON in a service's log
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", _CHILD, json.dumps(behind))
    try:
        code = await proc.wait()
    except asyncio.CancelledError:  # the caller gave up (a deadline): no child left behind
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await asyncio.shield(proc.wait())
        raise
    if code != 0:
        names = ", ".join(Path(location).parent.name for _, location in behind)
        raise RuntimeError(f"migrating {names} failed (exit {code})")


async def _migrate_each(targets: list[tuple[str, str]]) -> None:
    for url, location in targets:
        await migrate(url, location)


_CHILD = ("import asyncio, json, sys; from chassis.db.migrate import _migrate_each; "
          "asyncio.run(_migrate_each(json.loads(sys.argv[1])))")
