from __future__ import annotations

import pytest

from telemetry.service.ingest import ingest
from telemetry.service.ports import TraceQuery
from telemetry.service.pruning import prune
from telemetry.service.queries import get_trace, search_traces

from ..factories import MS, T0, make_span, trace_id
from .fakes import MemoryUnitOfWork

pytestmark = pytest.mark.unit


async def test_batches_from_several_services_fold_into_one_summary_in_one_transaction_each() -> None:
    uow = MemoryUnitOfWork()

    assert await ingest(uow, [make_span(span=2, parent=1, service="orders", start_ms=1)]) == 1
    assert await ingest(uow, [make_span(span=1, service="gateway", duration_ms=40)]) == 1

    summary = uow.repo.traces[trace_id(1)]
    assert (summary.span_count, summary.services, summary.root_service) == (
        2, ("gateway", "orders"), "gateway")
    assert uow.transactions == 2
    assert uow.repo.service_names == {"gateway", "orders"}


async def test_a_batch_sent_again_is_not_counted_twice() -> None:
    uow = MemoryUnitOfWork()
    batch = [make_span(span=1), make_span(span=2, parent=1), make_span(span=2, parent=1)]

    assert await ingest(uow, batch) == 2
    assert await ingest(uow, batch) == 0

    assert uow.repo.traces[trace_id(1)].span_count == 2


async def test_nothing_to_ingest_opens_no_transaction() -> None:
    uow = MemoryUnitOfWork()
    assert await ingest(uow, []) == 0
    assert uow.transactions == 0


async def test_pruning_drops_traces_past_the_age_then_the_oldest_beyond_the_count() -> None:
    uow = MemoryUnitOfWork()
    await ingest(uow, [make_span(trace=n, span=n, start_ms=n * 1000) for n in range(1, 11)])

    # traces 1 and 2 started more than 8.5 s before "now" (T0 + 10.5 s); then keep only 5
    deleted = await prune(uow, max_traces=5, max_age_ns=8_500 * MS, now_ns=T0 + 10_500 * MS,
                          batch=2)

    assert deleted == 5
    assert sorted(uow.repo.traces) == [trace_id(n) for n in range(6, 11)]
    assert all(key[0] in uow.repo.traces for key in uow.repo.spans)


async def test_pruning_within_the_limits_deletes_nothing() -> None:
    uow = MemoryUnitOfWork()
    await ingest(uow, [make_span(trace=1)])
    assert await prune(uow, max_traces=5, max_age_ns=10**12, now_ns=T0) == 0


async def test_search_pages_newest_first_and_a_trace_comes_with_its_tree() -> None:
    uow = MemoryUnitOfWork()
    await ingest(uow, [make_span(trace=n, span=n, start_ms=n) for n in range(1, 6)])
    await ingest(uow, [make_span(trace=5, span=50, parent=5, service="orders", start_ms=6)])

    first = await search_traces(uow, TraceQuery(limit=2))
    second = await search_traces(uow, TraceQuery(limit=2, before=first.next))
    last = await search_traces(uow, TraceQuery(limit=2, before=second.next))

    assert [s.trace_id for s in first.items + second.items + last.items] == [
        trace_id(n) for n in (5, 4, 3, 2, 1)]
    assert last.next is None
    detail = await get_trace(uow, trace_id(5).upper())
    assert [n.span.span_id for n in detail.tree] == [f"{5:016x}"]
    assert detail.tree[0].children[0].span.service == "orders"
