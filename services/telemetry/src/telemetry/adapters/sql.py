"""The trace store in plain SQL through ``chassis.db``, portable between SQLite and PostgreSQL.

Attributes, events and the services list are JSON text (portable; nothing queries inside them
except the services list, with an escaped ``LIKE``). Write transactions of one process are
serialised by a lock (the store of kept traces and pruning run beside each other): on SQLite that
is what the database adapter does anyway, and on PostgreSQL it makes the read-merge-write of a
summary safe without row locks or deadlock retries.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Iterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

import orjson

from chassis.db import Row, SqlUnitOfWork, Transaction
from telemetry.domain.spans import Span
from telemetry.domain.summary import TraceSummary
from telemetry.service.ports import TraceQuery, TraceRepository, TraceUnitOfWork

__all__ = ["SqlTraceRepository", "trace_unit_of_work"]

CHUNK = 400  # ids per IN (...) list: far below SQLite's and asyncpg's parameter limits
T = TypeVar("T")

_INSERT_SPAN = """
    INSERT INTO spans (trace_id, span_id, parent_span_id, service, instance, name, kind, start_ns,
                       end_ns, duration_ms, status, status_message, attributes, events)
    VALUES (:trace_id, :span_id, :parent_span_id, :service, :instance, :name, :kind, :start_ns,
            :end_ns, :duration_ms, :status, :status_message, :attributes, :events)
    ON CONFLICT (trace_id, span_id) DO NOTHING
"""
_UPSERT_TRACE = """
    INSERT INTO traces (trace_id, root_service, root_name, has_root, start_ns, end_ns, duration_ms,
                        span_count, services, error, order_id)
    VALUES (:trace_id, :root_service, :root_name, :has_root, :start_ns, :end_ns, :duration_ms,
            :span_count, :services, :error, :order_id)
    ON CONFLICT (trace_id) DO UPDATE SET
        root_service = excluded.root_service, root_name = excluded.root_name,
        has_root = excluded.has_root, start_ns = excluded.start_ns, end_ns = excluded.end_ns,
        duration_ms = excluded.duration_ms, span_count = excluded.span_count,
        services = excluded.services, error = excluded.error, order_id = excluded.order_id
"""
_TRACE_COLUMNS = ("trace_id, root_service, root_name, has_root, start_ns, end_ns, span_count, "
                  "services, error, order_id")
_SPAN_COLUMNS = ("trace_id, span_id, parent_span_id, service, instance, name, kind, start_ns, "
                 "end_ns, status, status_message, attributes, events")


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _in_list(prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    names = [f"{prefix}{i}" for i in range(len(values))]
    return ", ".join(f":{n}" for n in names), dict(zip(names, values, strict=True))


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _span_params(span: Span) -> dict[str, Any]:
    return {"trace_id": span.trace_id, "span_id": span.span_id,
            "parent_span_id": span.parent_span_id, "service": span.service,
            "instance": span.instance, "name": span.name, "kind": span.kind,
            "start_ns": span.start_ns, "end_ns": span.end_ns, "duration_ms": span.duration_ms,
            "status": span.status, "status_message": span.status_message,
            "attributes": orjson.dumps(span.attributes).decode() if span.attributes else "{}",
            "events": orjson.dumps(span.events).decode() if span.events else "[]"}


def _summary_params(s: TraceSummary) -> dict[str, Any]:
    return {"trace_id": s.trace_id, "root_service": s.root_service, "root_name": s.root_name,
            "has_root": s.has_root, "start_ns": s.start_ns, "end_ns": s.end_ns,
            "duration_ms": s.duration_ms, "span_count": s.span_count,
            "services": orjson.dumps(s.services).decode(), "error": s.error,
            "order_id": s.order_id}


def _summary(row: Row) -> TraceSummary:
    return TraceSummary(
        trace_id=row["trace_id"], root_service=row["root_service"], root_name=row["root_name"],
        has_root=bool(row["has_root"]), start_ns=int(row["start_ns"]), end_ns=int(row["end_ns"]),
        span_count=int(row["span_count"]), services=tuple(orjson.loads(row["services"])),
        error=bool(row["error"]), order_id=row["order_id"])


def _span(row: Row) -> Span:
    return Span(
        trace_id=row["trace_id"], span_id=row["span_id"], parent_span_id=row["parent_span_id"],
        service=row["service"], instance=row["instance"], name=row["name"], kind=row["kind"],
        start_ns=int(row["start_ns"]), end_ns=int(row["end_ns"]), status=row["status"],
        status_message=row["status_message"], attributes=orjson.loads(row["attributes"]),
        events=orjson.loads(row["events"]))


Begin = Callable[..., AbstractAsyncContextManager[Transaction]]


class SqlTraceRepository(TraceRepository):
    """The repository inside one chassis transaction. ``seen_services`` are the services recorded
    already (shared by the transactions of one app): a new service costs one insert, not one per
    stored batch."""

    def __init__(self, tx: Transaction, seen_services: set[str]) -> None:
        self._tx = tx
        self._seen_services = seen_services

    async def known_spans(self, keys: Collection[tuple[str, str]]) -> set[tuple[str, str]]:
        trace_ids = sorted({t for t, _ in keys})
        span_ids = sorted({s for _, s in keys})
        found: set[tuple[str, str]] = set()
        for traces in _chunks(trace_ids):
            trace_list, params = _in_list("t", traces)
            for spans in _chunks(span_ids):
                span_list, span_params = _in_list("s", spans)
                rows = await self._tx.fetch_all(
                    f"SELECT trace_id, span_id FROM spans WHERE trace_id IN ({trace_list}) "  # noqa: S608 - placeholders only
                    f"AND span_id IN ({span_list})", params | span_params)
                found.update((r["trace_id"], r["span_id"]) for r in rows)
        return found & set(keys)

    async def summaries(self, trace_ids: Collection[str]) -> dict[str, TraceSummary]:
        found: dict[str, TraceSummary] = {}
        for chunk in _chunks(sorted(trace_ids)):
            in_list, params = _in_list("t", chunk)
            rows = await self._tx.fetch_all(
                f"SELECT {_TRACE_COLUMNS} FROM traces WHERE trace_id IN ({in_list})",  # noqa: S608
                params)
            found.update((r["trace_id"], _summary(r)) for r in rows)
        return found

    async def add_spans(self, spans: Sequence[Span]) -> None:
        await self._tx.execute_many(_INSERT_SPAN, [_span_params(s) for s in spans])

    async def save_summaries(self, summaries: Sequence[TraceSummary]) -> None:
        await self._tx.execute_many(_UPSERT_TRACE, [_summary_params(s) for s in summaries])

    async def note_services(self, services: Collection[str]) -> None:
        new = sorted(set(services) - self._seen_services)
        if not new:
            return
        await self._tx.execute_many(
            "INSERT INTO services (name) VALUES (:name) ON CONFLICT (name) DO NOTHING",
            [{"name": name} for name in new])
        self._seen_services.update(new)  # a rollback only costs one redundant insert later

    async def search(self, query: TraceQuery) -> list[TraceSummary]:
        where: list[str] = []
        params: dict[str, Any] = {"limit": query.limit}
        if query.service is not None:
            where.append("t.services LIKE :service_pattern ESCAPE '\\'")
            params["service_pattern"] = f'%"{_like_escape(query.service)}"%'
        if query.operation is not None:
            of_service = " AND s.service = :service" if query.service is not None else ""
            where.append("EXISTS (SELECT 1 FROM spans s WHERE s.trace_id = t.trace_id "  # noqa: S608
                         f"AND s.name = :operation{of_service})")
            params["operation"] = query.operation
            if query.service is not None:
                params["service"] = query.service
        if query.error is not None:
            where.append("t.error = :error")
            params["error"] = query.error
        if query.min_duration_ms is not None:
            where.append("t.duration_ms >= :min_duration_ms")
            params["min_duration_ms"] = query.min_duration_ms
        if query.order_id is not None:
            where.append("t.order_id = :order_id")
            params["order_id"] = query.order_id
        if query.before is not None:
            where.append("(t.start_ns < :before_ns OR (t.start_ns = :before_ns "
                         "AND t.trace_id < :before_id))")
            params["before_ns"], params["before_id"] = query.before
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        rows = await self._tx.fetch_all(
            f"SELECT {_TRACE_COLUMNS} FROM traces t {clause} "  # noqa: S608 - fixed fragments
            "ORDER BY t.start_ns DESC, t.trace_id DESC LIMIT :limit", params)
        return [_summary(r) for r in rows]

    async def spans_of(self, trace_id: str) -> list[Span]:
        rows = await self._tx.fetch_all(
            f"SELECT {_SPAN_COLUMNS} FROM spans WHERE trace_id = :trace_id "  # noqa: S608
            "ORDER BY start_ns, end_ns, span_id", {"trace_id": trace_id})
        return [_span(r) for r in rows]

    async def services(self) -> list[str]:
        rows = await self._tx.fetch_all("SELECT name FROM services ORDER BY name")
        return [r["name"] for r in rows]

    async def count_traces(self) -> int:
        return int(await self._tx.fetch_value("SELECT COUNT(*) FROM traces") or 0)

    async def oldest_traces(self, limit: int, started_before_ns: int | None = None) -> list[str]:
        bound = "" if started_before_ns is None else "WHERE start_ns < :before "
        rows = await self._tx.fetch_all(
            f"SELECT trace_id FROM traces {bound}ORDER BY start_ns, trace_id LIMIT :limit",  # noqa: S608
            {"limit": limit, "before": started_before_ns} if bound else {"limit": limit})
        return [r["trace_id"] for r in rows]

    async def delete_traces(self, trace_ids: Iterable[str]) -> None:
        for chunk in _chunks(sorted(trace_ids)):
            in_list, params = _in_list("t", chunk)
            await self._tx.execute(f"DELETE FROM spans WHERE trace_id IN ({in_list})", params)  # noqa: S608
            await self._tx.execute(f"DELETE FROM traces WHERE trace_id IN ({in_list})", params)  # noqa: S608


def trace_unit_of_work(begin: Begin) -> TraceUnitOfWork:
    """The trace store's unit of work over ``begin`` (``runtime.transaction``): one per app, its
    write transactions one at a time."""
    write_lock = asyncio.Lock()
    seen_services: set[str] = set()

    @asynccontextmanager
    async def transaction(*, readonly: bool = False) -> AsyncIterator[Transaction]:
        if readonly:
            async with begin(readonly=True) as tx:
                yield tx
        else:
            async with write_lock, begin() as tx:
                yield tx

    return SqlUnitOfWork(transaction, lambda tx: SqlTraceRepository(tx, seen_services))
