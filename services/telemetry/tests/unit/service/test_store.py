"""Storing kept traces: spans and one summary each, in one transaction; resent spans once."""

from __future__ import annotations

import pytest

from telemetry.domain.spans import Span
from telemetry.service.store import KeptTrace, store_traces

from ...conftest import MS, T0, make_span, trace_id
from .conftest import MemoryUnitOfWork

pytestmark = pytest.mark.unit


def kept(*spans_of_traces: list[Span]) -> list[KeptTrace]:
    return [KeptTrace(spans[0].trace_id, spans) for spans in spans_of_traces]


async def test_kept_traces_are_written_with_one_summary_each_in_one_transaction(
        uow: MemoryUnitOfWork) -> None:
    written = await store_traces(uow, kept(
        [make_span(1, 2, 1, service="orders", start_ms=1), make_span(1, 1, service="gateway",
                                                                      duration_ms=40)],
        [make_span(2, 1, service="catalog")]))

    assert written == 3 and uow.transactions == 1
    summary = uow.repo.traces[trace_id(1)]
    assert (summary.span_count, summary.services, summary.root_service) == (
        2, ("gateway", "orders"), "gateway")
    assert uow.repo.service_names == {"gateway", "orders", "catalog"}


async def test_spans_sent_twice_count_once_and_a_stored_trace_grows_by_its_new_spans(
        uow: MemoryUnitOfWork) -> None:
    root, child = make_span(1, 1, duration_ms=40), make_span(1, 2, 1, start_ms=1)

    assert await store_traces(uow, kept([root, child, child])) == 2
    assert await store_traces(uow, kept([child, make_span(1, 3, 2, start_ms=50)])) == 1
    assert await store_traces(uow, kept([child])) == 0

    summary = uow.repo.traces[trace_id(1)]
    assert (summary.span_count, summary.end_ns, summary.has_root) == (3, T0 + 60 * MS, True)


async def test_nothing_to_store_opens_no_transaction(uow: MemoryUnitOfWork) -> None:
    assert await store_traces(uow, []) == 0
    assert await store_traces(uow, [KeptTrace(trace_id(1), [])]) == 0
    assert uow.transactions == 0
