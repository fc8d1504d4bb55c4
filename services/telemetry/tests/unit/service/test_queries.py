"""Reading traces: search pages, one trace with its tree, the services seen."""

from __future__ import annotations

import pytest

from telemetry.domain.errors import InvalidTraceId, TraceNotFound
from telemetry.domain.spans import Span
from telemetry.service.ports import TraceQuery
from telemetry.service.queries import get_trace, list_services, search_traces
from telemetry.service.store import KeptTrace, store_traces

from ...conftest import make_span, trace_id
from .conftest import MemoryUnitOfWork

pytestmark = pytest.mark.unit


def kept(*spans_of_traces: list[Span]) -> list[KeptTrace]:
    return [KeptTrace(spans[0].trace_id, spans) for spans in spans_of_traces]


async def test_search_pages_newest_first_and_a_trace_comes_with_its_tree(
        uow: MemoryUnitOfWork) -> None:
    await store_traces(uow, kept(*[[make_span(trace=n, span=n, start_ms=n)] for n in range(1, 5)],
                                 [make_span(trace=5, span=5, start_ms=5),
                                  make_span(trace=5, span=50, parent=5, service="orders",
                                            start_ms=6)]))

    first = await search_traces(uow, TraceQuery(limit=2))
    second = await search_traces(uow, TraceQuery(limit=2, before=first.next))
    last = await search_traces(uow, TraceQuery(limit=2, before=second.next))

    assert [s.trace_id for s in first.items + second.items + last.items] == [
        trace_id(n) for n in (5, 4, 3, 2, 1)]
    assert last.next is None
    detail = await get_trace(uow, trace_id(5).upper())
    assert [n.span.span_id for n in detail.tree] == [f"{5:016x}"]
    assert detail.tree[0].children[0].span.service == "orders"


async def test_an_unknown_trace_is_not_found_and_a_malformed_id_is_refused(
        uow: MemoryUnitOfWork) -> None:
    with pytest.raises(TraceNotFound):
        await get_trace(uow, trace_id(9))
    with pytest.raises(InvalidTraceId):
        await get_trace(uow, "not-a-trace-id")
    assert uow.transactions == 1  # a malformed id is refused before any read


async def test_the_services_seen_come_sorted(uow: MemoryUnitOfWork) -> None:
    await store_traces(uow, kept([make_span(trace=1, service="orders"),
                                  make_span(trace=1, span=2, parent=1, service="cart")]))
    assert await list_services(uow) == ["cart", "orders"]
