"""The SQL store itself: summaries merged across transactions, duplicates, pruning."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from chassis.db import migrate, open_database
from telemetry.adapters.sql import SqlUnitOfWork
from telemetry.app import MIGRATIONS
from telemetry.service.ingest import ingest
from telemetry.service.ports import TraceQuery
from telemetry.service.pruning import prune
from telemetry.service.queries import get_trace, list_services

from ..factories import MS, T0, make_span, trace_id

pytestmark = pytest.mark.integration


@pytest.fixture
async def uow(database_url: str) -> AsyncIterator[SqlUnitOfWork]:
    await migrate(database_url, MIGRATIONS)
    db = open_database(database_url)
    await db.connect()
    try:
        yield SqlUnitOfWork(db)
    finally:
        await db.close()


async def test_spans_arriving_in_any_order_across_transactions_build_one_summary(
        uow: SqlUnitOfWork) -> None:
    spans = [make_span(span=3, parent=2, service="payments", start_ms=5, duration_ms=50,
                       status="error", souk__order_id="o-9"),
             make_span(span=2, parent=1, service="orders", start_ms=1),
             make_span(span=1, service="gateway", duration_ms=30, attempt=3, ok=True)]
    for span in spans:
        assert await ingest(uow, [span]) == 1
    assert await ingest(uow, spans) == 0  # the exporter sent everything again

    detail = await get_trace(uow, trace_id(1))

    s = detail.summary
    assert (s.root_service, s.has_root, s.span_count, s.error, s.order_id) == (
        "gateway", True, 3, True, "o-9")
    assert (s.start_ns, s.end_ns) == (T0, T0 + 55 * MS)
    assert s.services == ("gateway", "orders", "payments")
    assert detail.spans[0].attributes == {"attempt": 3, "ok": True}
    assert await list_services(uow) == ["gateway", "orders", "payments"]


async def test_pruning_keeps_the_newest_traces_within_count_and_age(uow: SqlUnitOfWork) -> None:
    await ingest(uow, [make_span(trace=n, span=n, start_ms=n * 1000) for n in range(1, 21)])
    await ingest(uow, [make_span(trace=n, span=100 + n, parent=n, start_ms=n * 1000 + 1)
                       for n in range(1, 21)])

    deleted = await prune(uow, max_traces=8, max_age_ns=15_500 * MS, now_ns=T0 + 20_000 * MS,
                          batch=3)

    assert deleted == 12
    async with uow.transaction(readonly=True) as repo:
        remaining = await repo.search(TraceQuery(limit=100))
        assert [s.trace_id for s in remaining] == [trace_id(n) for n in range(20, 12, -1)]
        assert await repo.spans_of(trace_id(5)) == []
        assert len(await repo.spans_of(trace_id(13))) == 2
