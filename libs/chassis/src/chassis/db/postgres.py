"""PostgreSQL adapter over an asyncpg pool; ``:name`` parameters become ``$n`` once per statement."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from functools import lru_cache
from typing import Any

import asyncpg

from chassis.db.base import DbCounts, Params, Row, UnstorableText, missing_attribute, trace_if_slow
from chassis.tracing import NO_TRACING, Tracing

__all__ = ["PostgresDatabase", "asyncpg_dsn", "to_positional"]

_PARAM = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
# a NUL in a text parameter (22021), or a character the database's encoding lacks (22P05)
_UNSTORABLE = (asyncpg.exceptions.CharacterNotInRepertoireError,
               asyncpg.exceptions.UntranslatableCharacterError)


@lru_cache(maxsize=1024)
def to_positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """Rewrite ``:name`` placeholders to ``$1…``; ``::casts`` are left alone."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _PARAM.sub(number, sql), tuple(names)


def _args(sql: str, params: Params | None) -> tuple[str, list[Any]]:
    text, names = to_positional(sql)
    params = params or {}
    return text, [params[n] for n in names]


def asyncpg_dsn(url: str) -> str:
    """Strip SQLAlchemy's driver suffix: asyncpg wants a plain ``postgresql://`` DSN."""
    return re.sub(r"^postgres(ql)?(\+asyncpg)?://", "postgresql://", url)


class _PgTx:
    __slots__ = ("_conn", "_counts")
    dialect = "postgresql"

    def __init__(self, conn: Any, counts: DbCounts) -> None:
        self._conn = conn
        self._counts = counts

    def __getattr__(self, name: str) -> Any:
        raise missing_attribute(self, name)

    async def execute(self, sql: str, params: Params | None = None) -> int:
        self._counts.statements += 1
        self._counts.round_trips += 1
        text, args = _args(sql, params)
        status: str = await self._conn.execute(text, *args)
        tail = status.rsplit(" ", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        self._counts.statements += 1
        self._counts.round_trips += 1
        text, names = to_positional(sql)
        await self._conn.executemany(text, [[r[n] for n in names] for r in rows])

    async def fetch_all(self, sql: str, params: Params | None = None) -> list[Row]:
        self._counts.statements += 1
        self._counts.round_trips += 1
        text, args = _args(sql, params)
        return [dict(r) for r in await self._conn.fetch(text, *args)]

    async def fetch_one(self, sql: str, params: Params | None = None) -> Row | None:
        self._counts.statements += 1
        self._counts.round_trips += 1
        text, args = _args(sql, params)
        row = await self._conn.fetchrow(text, *args)
        return None if row is None else dict(row)

    async def fetch_value(self, sql: str, params: Params | None = None) -> Any:
        self._counts.statements += 1
        self._counts.round_trips += 1
        text, args = _args(sql, params)
        return await self._conn.fetchval(text, *args)


async def _keep_session(conn: Any) -> None:
    """What a connection going back to the pool needs beyond asyncpg's own rollback of an open
    transaction: nothing. The default (``RESET ALL``, ``UNLISTEN *``, ``CLOSE ALL``, unlocking
    advisory locks) is a round trip per unit of work, for session state no unit of work leaves:
    none sets a session variable, listens, keeps a cursor or takes a session advisory lock (the
    migrations' lock is on a connection of their own)."""


class PostgresDatabase:
    """A pool of asyncpg connections; each unit of work holds one connection in a transaction."""

    dialect = "postgresql"

    def __init__(self, url: str, *, pool_size: int = 8, tracing: Tracing = NO_TRACING) -> None:
        self.url = url
        self._tracing = tracing
        self._dsn = asyncpg_dsn(url)
        self._pool_size = pool_size
        self._pool: Any = None
        self.counts = DbCounts()

    async def connect(self) -> None:
        if self._pool is None:
            self._pool = await asyncpg.create_pool(
                self._dsn, min_size=1, max_size=self._pool_size, command_timeout=30,
                reset=_keep_session)

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @asynccontextmanager
    async def transaction(self, *, readonly: bool = False) -> AsyncIterator[_PgTx]:
        if self._pool is None:
            raise RuntimeError("database is not connected")
        start = time.time_ns()
        self.counts.transactions += 1
        try:
            if readonly:
                # no BEGIN READ ONLY and COMMIT, two round trips of nothing: under READ
                # COMMITTED (PostgreSQL's default; the chassis asks for no other) each statement of a
                # transaction takes its own snapshot anyway, so a reader sees the same either
                # way (SQLite's deferred BEGIN did not refuse writes either)
                async with self._pool.acquire() as conn:
                    yield _PgTx(conn, self.counts)
            else:
                self.counts.round_trips += 2  # BEGIN, COMMIT or ROLLBACK
                async with self._pool.acquire() as conn, conn.transaction():
                    yield _PgTx(conn, self.counts)
        except BaseException as exc:
            trace_if_slow(self._tracing, "postgresql", start, readonly, type(exc).__name__)
            if isinstance(exc, _UNSTORABLE):
                raise UnstorableText(f"a text holds a character PostgreSQL cannot store: {exc}"
                                     ) from exc
            raise
        trace_if_slow(self._tracing, "postgresql", start, readonly)

    async def ping(self) -> None:
        if self._pool is None:
            raise RuntimeError("database is not connected")
        async with self._pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
