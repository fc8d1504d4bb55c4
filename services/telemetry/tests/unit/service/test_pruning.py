"""Pruning: traces past the age limit first, then the oldest beyond the count."""

from __future__ import annotations

import pytest

from telemetry.service.pruning import prune
from telemetry.service.store import KeptTrace, store_traces

from ...conftest import MS, T0, make_span, trace_id
from .conftest import MemoryUnitOfWork

pytestmark = pytest.mark.unit


def one_span_traces(*numbers: int) -> list[KeptTrace]:
    return [KeptTrace(trace_id(n), [make_span(trace=n, span=n, start_ms=n * 1000)])
            for n in numbers]


async def test_pruning_drops_traces_past_the_age_then_the_oldest_beyond_the_count(
        uow: MemoryUnitOfWork) -> None:
    await store_traces(uow, one_span_traces(*range(1, 11)))

    # traces 1 and 2 started more than 8.5 s before "now" (T0 + 10.5 s); then keep only 5
    deleted = await prune(uow, max_traces=5, max_age_ns=8_500 * MS, now_ns=T0 + 10_500 * MS,
                          batch=2)

    assert deleted == 5
    assert sorted(uow.repo.traces) == [trace_id(n) for n in range(6, 11)]
    assert all(key[0] in uow.repo.traces for key in uow.repo.spans)


async def test_pruning_within_the_limits_deletes_nothing(uow: MemoryUnitOfWork) -> None:
    await store_traces(uow, one_span_traces(1))
    assert await prune(uow, max_traces=5, max_age_ns=10**12, now_ns=T0) == 0
