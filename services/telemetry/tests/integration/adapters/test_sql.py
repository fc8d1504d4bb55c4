"""The SQL store itself: kept traces written whole, late spans merged, duplicates, pruning, one
writer at a time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from chassis.testing import connected_database
from telemetry.adapters.sql import trace_unit_of_work
from telemetry.domain.spans import Span
from telemetry.service.ports import TraceQuery, TraceUnitOfWork
from telemetry.service.pruning import prune
from telemetry.service.queries import get_trace, list_services
from telemetry.service.store import KeptTrace, store_traces

from ...conftest import MS, T0, make_span, trace_id

pytestmark = pytest.mark.integration


@pytest.fixture
async def uow(database_url: str) -> AsyncIterator[TraceUnitOfWork]:
    async with connected_database(database_url, "telemetry") as db:
        yield trace_unit_of_work(db.transaction)


def kept(*spans: Span) -> list[KeptTrace]:
    return [KeptTrace(spans[0].trace_id, list(spans))]


async def test_a_kept_trace_then_its_late_spans_build_one_summary(
        uow: TraceUnitOfWork) -> None:
    spans = [make_span(span=3, parent=2, service="payments", start_ms=5, duration_ms=50,
                       status="error", souk__order_id="o-9"),
             make_span(span=2, parent=1, service="orders", start_ms=1),
             make_span(span=1, service="gateway", duration_ms=30, attempt=3, ok=True)]
    assert await store_traces(uow, kept(spans[0], spans[1])) == 2
    assert await store_traces(uow, kept(spans[2], spans[1])) == 1  # late, with a resent span
    assert await store_traces(uow, kept(*spans)) == 0  # the exporter sent everything again

    detail = await get_trace(uow, trace_id(1))

    s = detail.summary
    assert (s.root_service, s.has_root, s.span_count, s.error, s.order_id) == (
        "gateway", True, 3, True, "o-9")
    assert (s.start_ns, s.end_ns) == (T0, T0 + 55 * MS)
    assert s.services == ("gateway", "orders", "payments")
    assert detail.spans[0].attributes == {"attempt": 3, "ok": True}
    assert await list_services(uow) == ["gateway", "orders", "payments"]


async def test_pruning_keeps_the_newest_traces_within_count_and_age(
        uow: TraceUnitOfWork) -> None:
    await store_traces(uow, [KeptTrace(trace_id(n), [
        make_span(trace=n, span=n, start_ms=n * 1000),
        make_span(trace=n, span=100 + n, parent=n, start_ms=n * 1000 + 1)]) for n in range(1, 21)])

    deleted = await prune(uow, max_traces=8, max_age_ns=15_500 * MS, now_ns=T0 + 20_000 * MS,
                          batch=3)

    assert deleted == 12
    async with uow(readonly=True) as repo:
        remaining = await repo.search(TraceQuery(limit=100))
        assert [s.trace_id for s in remaining] == [trace_id(n) for n in range(20, 12, -1)]
        assert await repo.spans_of(trace_id(5)) == []
        assert len(await repo.spans_of(trace_id(13))) == 2


async def test_write_transactions_of_one_store_run_one_at_a_time(uow: TraceUnitOfWork) -> None:
    steps: list[str] = []

    async def write(service: str) -> None:
        async with uow() as repo:
            steps.append(f"{service} begins")
            await asyncio.sleep(0.01)  # the other writer gets the loop meanwhile
            await repo.note_services([service])
            steps.append(f"{service} ends")

    await asyncio.gather(write("cart"), write("orders"))

    assert steps == ["cart begins", "cart ends", "orders begins", "orders ends"]
    async with uow(readonly=True) as repo:
        assert await repo.services() == ["cart", "orders"]
