"""SQLite adapter: stdlib ``sqlite3`` run synchronously on the event loop.

Statements take microseconds, so running them on the loop is cheaper than any thread hand-off
(aiosqlite paid ~174 µs of CPU per statement here). One connection per process; an asyncio lock
serialises units of work on it. WAL mode lets other processes (other instances) read meanwhile;
``BEGIN IMMEDIATE`` takes the write lock up front so two writers queue on ``busy_timeout``
instead of failing with a deadlock.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from chassis.db.base import DbCounts, Params, Row, missing_attribute, trace_if_slow
from chassis.tracing import NO_TRACING, Tracing

__all__ = ["SQLiteDatabase", "sqlite_path"]


def sqlite_path(url: str) -> str:
    """``sqlite:///relative.db`` / ``sqlite:////abs/path.db`` → a filesystem path."""
    path = url.split(":", 1)[1]
    if path.startswith("///"):
        return path[3:]
    if path.startswith("//"):
        return path[2:]
    return path


def _dict_row(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Row:
    return {col[0]: value for col, value in zip(cursor.description, row, strict=True)}


class _SQLiteTx:
    __slots__ = ("_conn", "_counts")
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection, counts: DbCounts) -> None:
        self._conn = conn
        self._counts = counts

    def __getattr__(self, name: str) -> Any:
        raise missing_attribute(self, name)

    async def execute(self, sql: str, params: Params | None = None) -> int:
        self._counts.statements += 1
        return self._conn.execute(sql, params or {}).rowcount

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        self._counts.statements += 1
        self._conn.executemany(sql, rows)

    async def fetch_all(self, sql: str, params: Params | None = None) -> list[Row]:
        self._counts.statements += 1
        return self._conn.execute(sql, params or {}).fetchall()

    async def fetch_one(self, sql: str, params: Params | None = None) -> Row | None:
        self._counts.statements += 1
        row: Row | None = self._conn.execute(sql, params or {}).fetchone()
        return row

    async def fetch_value(self, sql: str, params: Params | None = None) -> Any:
        self._counts.statements += 1
        cur = self._conn.execute(sql, params or {})
        row = cur.fetchone()
        return None if row is None else next(iter(row.values()))


class SQLiteDatabase:
    """One WAL-mode SQLite file, one connection, units of work serialised by an asyncio lock."""

    dialect = "sqlite"

    def __init__(self, url: str, *, synchronous: str = "NORMAL", busy_timeout_ms: int = 5000,
                 tracing: Tracing = NO_TRACING) -> None:
        self.url = url
        self._tracing = tracing
        self.path = sqlite_path(url)
        self._synchronous = synchronous
        self._busy_timeout_ms = busy_timeout_ms
        self._conn: sqlite3.Connection | None = None
        self._lock = asyncio.Lock()
        self.counts = DbCounts()

    async def connect(self) -> None:
        if self._conn is not None:
            return
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.row_factory = _dict_row
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
        conn.execute("PRAGMA journal_mode = WAL")
        # NORMAL in WAL mode survives a process crash; a power loss may lose the last commits.
        conn.execute(f"PRAGMA synchronous = {self._synchronous}")
        conn.execute("PRAGMA foreign_keys = ON")
        self._conn = conn

    async def close(self) -> None:
        if self._conn is not None:
            async with self._lock:
                self._conn.close()
                self._conn = None

    @asynccontextmanager
    async def transaction(self, *, readonly: bool = False) -> AsyncIterator[_SQLiteTx]:
        conn = self._require()
        async with self._lock:
            start = time.time_ns()
            self.counts.transactions += 1
            conn.execute("BEGIN" if readonly else "BEGIN IMMEDIATE")
            try:
                yield _SQLiteTx(conn, self.counts)
            except BaseException as exc:
                conn.execute("ROLLBACK")
                trace_if_slow(self._tracing, "sqlite", start, readonly, type(exc).__name__)
                raise
            conn.execute("COMMIT")
            trace_if_slow(self._tracing, "sqlite", start, readonly)

    async def ping(self) -> None:
        self._require().execute("SELECT 1").fetchone()

    def _require(self) -> sqlite3.Connection:
        if self._conn is None:
            raise RuntimeError("database is not connected")
        return self._conn
