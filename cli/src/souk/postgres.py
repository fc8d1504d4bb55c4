"""PostgreSQL per service: ``souk up --postgres URL`` (or ``[platform] postgres``).

Every service with ``database = true`` gets its own database on that server, named
``<prefix>_<service>``; the prefix is ``[platform] postgres_prefix`` or ``souk_<hash of the home
folder>``, so two homes (two developers' platforms, two test runs) on one server never share a
database. The supervisor creates the missing ones before it starts anything (each service then
migrates its own at start, as on SQLite) and records server and names in
``<home>/data/postgres.json``, which ``souk down --purge`` reads to drop them. ``souk down`` alone
leaves them, as it leaves the SQLite files.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from souk.home import Home
from souk.state import read_json, write_json_atomic
from souk.topology import Topology

__all__ = ["MAX_NAME", "POSTGRES_ENV", "PostgresError", "database_names", "default_prefix", "drop_databases",
           "ensure_databases", "read_record", "record_file", "redact", "service_url",
           "write_record"]

# `souk up --postgres` also reads it, and hands the URL to the supervisor in it
POSTGRES_ENV = "SOUK_POSTGRES"
MAX_NAME = 63  # PostgreSQL truncates longer identifiers (NAMEDATALEN - 1)
_SAFE = re.compile(r"^[a-z][a-z0-9_]*$")


class PostgresError(Exception):
    """The server could not be reached, or refused to create or drop a database."""


def default_prefix(home: Home) -> str:
    """``souk_`` and 10 hex digits of the home folder's path: stable for one home, distinct
    between homes."""
    return "souk_" + hashlib.sha256(str(home.root).encode()).hexdigest()[:10]


def database_names(topology: Topology, home: Home) -> dict[str, str]:
    """Service → its database name, for every service with ``database = true`` (none without
    ``[platform] postgres``)."""
    if topology.platform.postgres is None:
        return {}
    prefix = topology.platform.postgres_prefix or default_prefix(home)
    names = {service: f"{prefix}_{service}" for service, config in topology.services.items()
             if config.database}
    for name in names.values():
        if len(name) > MAX_NAME or not _SAFE.match(name):
            raise PostgresError(f"database name {name!r} is not a plain PostgreSQL identifier of "
                                f"at most {MAX_NAME} characters; shorten postgres_prefix")
    return names


def service_url(server: str, database: str) -> str:
    """The server's URL with ``database`` as its path (user, password, host, port and query
    kept)."""
    return urlunsplit(urlsplit(server)._replace(path=f"/{database}"))


def redact(url: str) -> str:
    """``url`` without its password, for logs and messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))


@asynccontextmanager
async def _connected(server: str) -> AsyncIterator[Any]:
    import asyncpg

    from chassis.db.postgres import asyncpg_dsn

    try:
        conn = await asyncpg.connect(asyncpg_dsn(server), timeout=10)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        raise PostgresError(f"cannot connect to PostgreSQL at {redact(server)}: {exc}") from None
    try:
        yield conn
    finally:
        await conn.close()


@contextmanager
def _refused_as_error(server: str, doing: str, name: str) -> Iterator[None]:
    """The server's refusal to ``doing`` database ``name`` as a PostgresError."""
    import asyncpg

    try:
        yield
    except asyncpg.PostgresError as exc:
        raise PostgresError(f"cannot {doing} database {name} on {redact(server)}: {exc}") from None


async def ensure_databases(server: str, names: Mapping[str, str]) -> list[str]:
    """Create those of ``names``' databases that do not exist on ``server``; return the ones
    created."""
    import asyncpg

    created: list[str] = []
    async with _connected(server) as conn:
        present = {row["datname"] for row in await conn.fetch(
            "SELECT datname FROM pg_database WHERE datname = ANY($1::text[])",
            sorted(names.values()))}
        for name in sorted(set(names.values()) - present):
            with _refused_as_error(server, "create", name):
                try:
                    await conn.execute(f'CREATE DATABASE "{name}"')  # name checked by database_names
                except asyncpg.DuplicateDatabaseError:
                    continue  # made meanwhile by someone else: it exists, which is what we want
            created.append(name)
    return created


async def drop_databases(server: str, names: list[str]) -> list[str]:
    """Drop ``names`` on ``server`` (closing their connections); return those that existed."""
    dropped: list[str] = []
    async with _connected(server) as conn:
        for name in names:
            if not _SAFE.match(name):
                raise PostgresError(f"refusing to drop {name!r}: not a database souk names")
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                continue
            with _refused_as_error(server, "drop", name):
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            dropped.append(name)
    return dropped


def record_file(home: Home) -> Path:
    """``<home>/data/postgres.json``: ``{"server": URL, "databases": {service: name}}``."""
    return home.data / "postgres.json"


def write_record(home: Home, server: str, names: Mapping[str, str]) -> None:
    """Remember which databases on which server belong to this home (merged with the databases
    recorded before on the same server, so a purge drops them all)."""
    before = read_record(home)
    databases = dict(before[1]) if before is not None and before[0] == server else {}
    databases.update(names)
    write_json_atomic(record_file(home), {"server": server, "databases": databases})


def read_record(home: Home) -> tuple[str, dict[str, str]] | None:
    """(server, service → database) recorded for this home, or None."""
    data = read_json(record_file(home))
    if not isinstance(data, dict) or not isinstance(data.get("server"), str) \
            or not isinstance(data.get("databases"), dict):
        return None
    return data["server"], {str(k): str(v) for k, v in data["databases"].items()}

