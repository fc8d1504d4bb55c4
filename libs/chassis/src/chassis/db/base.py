"""The database protocol every service codes against, and the URL-based factory."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from chassis.tracing import NO_TRACING, SpanKind, Tracing

__all__ = ["SLOW_SECONDS", "Database", "DbCounts", "Params", "Row", "Transaction",
           "UnstorableText", "missing_attribute", "one_of", "open_database", "trace_if_slow"]

Row = dict[str, Any]
SLOW_SECONDS = 0.05
Params = Mapping[str, Any]


class UnstorableText(ValueError):
    """A text the database cannot store or compare: on PostgreSQL a NUL character (SQLite stores
    it). It comes from the caller's input, so the web layer answers it 400 (``invalid-characters``)
    rather than 500, and a message carrying one fails as a poison message would."""


# what a messaging transaction has beyond a plain one (chassis.messaging.tx.MessageTx)
_MESSAGING_ONLY = frozenset({"publish", "publish_raw", "after_commit", "run_after_commit",
                             "batched", "read_ahead", "flush_outbox", "batch_correlation_ids"})


def missing_attribute(tx: object, name: str) -> AttributeError:
    """The error for ``tx.<name>`` that does not exist; a messaging name says why it is missing
    (the service was built without messaging, so its transactions have no outbox)."""
    if name in _MESSAGING_ONLY:
        return AttributeError(
            f"{name!r}: this is a plain database transaction, without the outbox; a service "
            "whose transactions publish is built with messaging (create_service_app(..., "
            "handlers=...) or messaging=True), and then runtime.transaction gives one")
    return AttributeError(f"{type(tx).__name__!r} object has no attribute {name!r}")


class DbCounts:
    """Units of work, statements and round trips an adapter has run since it was built (three
    integers: cheap enough to count always). A round trip is a request to a server awaited:
    on PostgreSQL each statement (``execute_many`` pipelines its rows: one), and BEGIN and COMMIT
    (or ROLLBACK) of each unit of work that writes; asyncpg's preparation of a statement on a
    connection's first use of its text is not counted. SQLite has none. ``/metrics`` shows them
    as ``souk_db_transactions_total``, ``souk_db_statements_total`` and
    ``souk_db_round_trips_total``."""

    __slots__ = ("round_trips", "statements", "transactions")

    def __init__(self) -> None:
        self.transactions = 0
        self.statements = 0
        self.round_trips = 0


class Transaction(Protocol):
    """Statements inside one transaction. Parameters are named: ``WHERE sku = :sku``."""

    dialect: str  # "sqlite" or "postgresql": the few statements that differ look at it

    async def execute(self, sql: str, params: Params | None = None) -> int:
        """Run a statement; return the number of rows it changed."""
        ...

    async def execute_many(self, sql: str, rows: Iterable[Params]) -> None:
        """Run a statement once per parameter set."""
        ...

    async def fetch_all(self, sql: str, params: Params | None = None) -> list[Row]:
        """All rows as dicts."""
        ...

    async def fetch_one(self, sql: str, params: Params | None = None) -> Row | None:
        """The first row, or None."""
        ...

    async def fetch_value(self, sql: str, params: Params | None = None) -> Any:
        """The first column of the first row, or None."""
        ...


class Database(Protocol):
    """A service's own database."""

    dialect: str  # "sqlite" or "postgresql"
    url: str

    async def connect(self) -> None: ...

    async def close(self) -> None: ...

    def transaction(self, *, readonly: bool = False) -> AbstractAsyncContextManager[Transaction]:
        """A unit of work: commits on normal exit, rolls back on an exception."""
        ...

    async def ping(self) -> None:
        """Raise if the database cannot answer (readiness)."""
        ...


def one_of(dialect: str, column: str, values: Iterable[str],
           name: str = "ids") -> tuple[str, dict[str, Any]]:
    """The condition "``column`` is one of ``values``" (text) and its parameters: ``= ANY`` of
    one array on PostgreSQL (one prepared statement whatever the number), generated placeholders
    on SQLite (only those names are pasted into the statement; the values are parameters)."""
    if dialect == "postgresql":
        return f"{column} = ANY(CAST(:{name} AS text[]))", {name: list(values)}
    params = {f"{name}{i}": value for i, value in enumerate(values)}
    return f"{column} IN ({', '.join(':' + key for key in params)})", params


def open_database(url: str, *, pool_size: int = 8, tracing: Tracing = NO_TRACING) -> Database:
    """Build (not connect) the adapter for ``sqlite:///path`` or ``postgresql://…``. With
    ``tracing``, a unit of work that turns out slow (≥ ``SLOW_SECONDS``) becomes a span of the
    trace it ran in; the fast ones cost two clock reads (a span each cost more than they do)."""
    if url.startswith("sqlite:"):
        from chassis.db.sqlite import SQLiteDatabase

        return SQLiteDatabase(url, tracing=tracing)
    if url.startswith(("postgresql:", "postgres:", "postgresql+asyncpg:")):
        from chassis.db.postgres import PostgresDatabase

        return PostgresDatabase(url, pool_size=pool_size, tracing=tracing)
    raise ValueError(f"unsupported database URL scheme: {url.split(':', 1)[0]!r}")


def trace_if_slow(tracing: Tracing, dialect: str, start_ns: int, readonly: bool,
                  error: str = "") -> None:
    """Record a finished unit of work as a ``db.transaction`` span when it took long."""
    if tracing.enabled and time.time_ns() - start_ns >= SLOW_SECONDS * 1e9:
        tracing.record("db.transaction", start_ns, kind=SpanKind.CLIENT, error=error,
                       attributes={"db.system": dialect, "db.readonly": readonly})
