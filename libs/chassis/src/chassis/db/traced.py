"""A database whose units of work are spans of the trace they run in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from opentelemetry import trace

from chassis.db.base import Database, Transaction
from chassis.tracing import SpanKind, StatusCode, Tracing

__all__ = ["TracedDatabase"]


class TracedDatabase:
    """Wraps a :class:`Database`: each transaction opened inside a traced request or message is a
    ``db.transaction`` span (one per unit of work, not per statement: statements here take
    microseconds, and a span costs more than that). Transactions of background loops start no
    trace."""

    def __init__(self, inner: Database, tracing: Tracing) -> None:
        self.inner = inner
        self.dialect = inner.dialect
        self.url = inner.url
        self._tracing = tracing
        self._attributes = {"db.system": "sqlite" if inner.dialect == "sqlite" else "postgresql"}

    async def connect(self) -> None:
        await self.inner.connect()

    async def close(self) -> None:
        await self.inner.close()

    async def ping(self) -> None:
        await self.inner.ping()

    def transaction(self, *, readonly: bool = False) -> AbstractAsyncContextManager[Transaction]:
        if not trace.get_current_span().is_recording():  # no trace to join: no extra layer
            return self.inner.transaction(readonly=readonly)
        return self._traced(readonly)

    @asynccontextmanager
    async def _traced(self, readonly: bool) -> AsyncIterator[Transaction]:
        with self._tracing.child_span("db.transaction", kind=SpanKind.CLIENT,
                                      attributes=self._attributes) as span:
            if readonly:
                span.set_attribute("db.readonly", True)
            try:
                async with self.inner.transaction(readonly=readonly) as tx:
                    yield tx
            except Exception:
                span.set_status(StatusCode.ERROR)
                raise

    def __getattr__(self, name: str) -> Any:  # adapter extras (the SQLite path, …)
        return getattr(self.inner, name)
