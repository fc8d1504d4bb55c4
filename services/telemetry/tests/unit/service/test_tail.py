"""The tail sampler with fakes: held until settled, decided once per trace, kept ones stored in
one transaction with a summary computed once; late spans; memory bound; the rate cap; closing;
its rounds run by the chassis's background work."""

from __future__ import annotations

import asyncio

import pytest

from chassis.background import Background
from telemetry.domain.holding import Decisions, TraceBuffer
from telemetry.domain.keep import KeepRules
from telemetry.domain.spans import Span
from telemetry.service.tail import TailSampler

from ...conftest import MS, T0, fragment, make_span, trace_id
from .conftest import FailingUnitOfWork, FakeClock, MemoryUnitOfWork, RecordingMetrics

pytestmark = pytest.mark.unit

SETTLE = 3.0


class Harness:
    def __init__(self, *, keep_ratio: float = 0.0, max_spans: int = 10_000,
                 per_second: float = 0, remembered: int = 1000, batch_spans: int = 2000,
                 uow: MemoryUnitOfWork | None = None) -> None:
        self.uow = uow or MemoryUnitOfWork()
        self.clock = FakeClock()
        self.metrics = RecordingMetrics()
        self.sampler = TailSampler(
            self.uow, rules=KeepRules(keep_ratio=keep_ratio, slow_ms=500),
            buffer=TraceBuffer(settle_seconds=SETTLE, max_hold_seconds=30, max_spans=max_spans),
            decisions=Decisions(remembered), metrics=self.metrics,
            max_kept_per_second=per_second, store_batch_spans=batch_spans, clock=self.clock)

    def send(self, *spans: Span) -> None:
        by_trace: dict[str, list[Span]] = {}
        for s in spans:
            by_trace.setdefault(s.trace_id, []).append(s)
        self.sampler.accept([fragment(*group) for group in by_trace.values()])

    async def settle(self) -> None:
        self.clock.advance(SETTLE)
        await self.sampler.flush()

    @property
    def stored(self) -> set[str]:
        return set(self.uow.repo.traces)


def checkout(trace: int, *, status: str = "unset", duration_ms: float = 40,
             **attributes: object) -> list[Span]:
    return [make_span(trace, 1, service="gateway", duration_ms=duration_ms),
            make_span(trace, 2, 1, service="orders", start_ms=2, duration_ms=10,
                      souk__order_id=f"o-{trace}"),
            make_span(trace, 3, 2, service="payments", start_ms=4, duration_ms=5, status=status,
                      **attributes)]


async def test_nothing_is_decided_before_the_trace_settles() -> None:
    h = Harness(keep_ratio=1.0)
    h.send(*checkout(1))
    h.clock.advance(SETTLE - 0.1)
    await h.sampler.flush()

    assert h.stored == set() and h.metrics.spans_held() == 3 and h.uow.transactions == 0


async def test_an_error_trace_is_kept_with_one_summary_even_at_ratio_zero() -> None:
    h = Harness(keep_ratio=0.0)
    spans = checkout(1, status="error")
    h.send(spans[2])  # the failing span first, the root last: as exporters do
    h.clock.advance(1)
    h.send(spans[1])
    h.send(spans[0])
    await h.settle()

    summary = h.uow.repo.traces[trace_id(1)]
    assert (summary.root_service, summary.has_root, summary.span_count, summary.error,
            summary.order_id) == ("gateway", True, 3, True, "o-1")
    assert summary.services == ("gateway", "orders", "payments")
    assert h.uow.transactions == 1
    assert h.metrics.counts == {"received": 3, "kept:error": 1}
    assert h.metrics.spans_held() == 0


@pytest.mark.parametrize(("ratio", "kept"), [(0.0, False), (1.0, True)])
async def test_a_plain_fast_trace_is_kept_only_within_the_ratio(ratio: float, kept: bool) -> None:
    h = Harness(keep_ratio=ratio)
    h.send(*checkout(1))
    await h.settle()

    assert (trace_id(1) in h.stored) is kept
    assert h.metrics.counts.get("kept:sampled", 0) == int(kept)
    assert h.metrics.counts.get("dropped:rules", 0) == int(not kept)


async def test_a_slow_trace_and_a_flagged_trace_are_kept() -> None:
    h = Harness(keep_ratio=0.0)
    h.send(*checkout(1, duration_ms=500))
    h.send(*checkout(2, souk__keep=True))
    h.send(*checkout(3, souk__keep=False))
    await h.settle()

    assert h.stored == {trace_id(1), trace_id(2)}
    assert (h.metrics.counts["kept:slow"], h.metrics.counts["kept:keep-flag"]) == (1, 1)


async def test_late_spans_of_a_kept_trace_join_it_and_of_a_dropped_trace_are_dropped() -> None:
    h = Harness(keep_ratio=0.0)
    h.send(*checkout(1, status="error"))
    h.send(*checkout(2))
    await h.settle()
    assert h.stored == {trace_id(1)}

    h.send(make_span(1, 4, 3, service="notifications", start_ms=300, duration_ms=1),
           make_span(1, 2, 1, service="orders", start_ms=2, duration_ms=10))  # 2 is a resend
    h.send(make_span(2, 4, 3, service="notifications", status="error"))
    await h.settle()

    summary = h.uow.repo.traces[trace_id(1)]
    assert (summary.span_count, summary.end_ns) == (4, T0 + 301 * MS)
    assert "notifications" in summary.services
    assert h.stored == {trace_id(1)}
    assert (h.metrics.counts["late:stored"], h.metrics.counts["late:dropped"]) == (2, 1)
    assert h.metrics.counts["kept:error"] == 1  # a trace is decided once


async def test_a_forgotten_decision_merges_late_spans_into_the_stored_summary() -> None:
    h = Harness(keep_ratio=1.0, remembered=0)
    h.send(*checkout(1))
    await h.settle()
    h.send(make_span(1, 9, 1, service="analytics", start_ms=50, duration_ms=1))
    await h.settle()

    summary = h.uow.repo.traces[trace_id(1)]
    assert (summary.span_count, summary.root_service) == (4, "gateway")


async def test_over_the_span_limit_the_oldest_traces_are_decided_without_waiting() -> None:
    h = Harness(keep_ratio=1.0, max_spans=5)
    h.send(*checkout(1))
    h.clock.advance(0.5)
    h.send(*checkout(2))  # 6 spans held: trace 1 is decided now

    assert h.metrics.counts["kept:sampled"] == 1
    assert h.metrics.spans_held() == 6  # three held, three waiting to be stored
    await h.sampler.flush()  # the next round: stores, decides nothing new

    assert h.stored == {trace_id(1)} and h.metrics.spans_held() == 3


async def test_over_the_rate_cap_errors_are_kept_first() -> None:
    h = Harness(keep_ratio=1.0, per_second=2)
    h.send(*checkout(1), *checkout(2), *checkout(3, souk__keep=True), *checkout(4, status="error"))
    await h.settle()

    assert h.stored == {trace_id(4), trace_id(3)}
    assert h.metrics.counts["dropped:rate"] == 2
    h.send(make_span(1, 9, 1))  # the decision to drop trace 1 stands for its late spans
    await h.settle()
    assert trace_id(1) not in h.stored


async def test_closing_decides_and_stores_everything_held() -> None:
    h = Harness(keep_ratio=0.0)
    h.send(*checkout(1, status="error"))
    h.send(*checkout(2))

    await h.sampler.close()

    assert h.stored == {trace_id(1)} and h.metrics.spans_held() == 0


async def test_a_store_that_fails_loses_that_batch_and_says_so() -> None:
    h = Harness(keep_ratio=1.0, uow=FailingUnitOfWork())
    h.send(*checkout(1))
    await h.settle()

    assert h.metrics.counts["lost"] == 1 and h.metrics.spans_held() == 0


async def test_kept_traces_of_one_round_share_transactions_of_whole_traces() -> None:
    h = Harness(keep_ratio=1.0, batch_spans=7)  # two whole 3-span traces per transaction
    for n in range(1, 6):
        h.send(*checkout(n))
    await h.settle()

    assert len(h.stored) == 5 and h.uow.transactions == 3
    assert all(s.span_count == 3 for s in h.uow.repo.traces.values())


async def test_background_rounds_decide_on_their_own_and_do_nothing_once_closed() -> None:
    h = Harness(keep_ratio=1.0)
    background = Background()
    background.every(0.01, h.sampler.flush, name="decisions")
    try:
        h.send(*checkout(1))
        h.clock.advance(SETTLE)
        for _ in range(500):  # bounded: a few rounds are enough
            if h.stored:
                break
            await asyncio.sleep(0.01)
        assert h.stored == {trace_id(1)}
        h.send(*checkout(2))
        await h.sampler.close()
        assert h.stored == {trace_id(1), trace_id(2)}
        transactions = h.uow.transactions
        h.send(*checkout(3))  # too late: nothing decides or stores it any more
        h.clock.advance(SETTLE)
        await asyncio.sleep(0.05)
        assert (h.stored, h.uow.transactions) == ({trace_id(1), trace_id(2)}, transactions)
    finally:
        await background.close()


async def test_closing_waits_for_the_round_in_flight() -> None:
    gate = asyncio.Event()

    class SlowUnitOfWork(MemoryUnitOfWork):
        opened = False

        def __call__(self, *, readonly: bool = False):  # type: ignore[no-untyped-def]
            entered = super().__call__(readonly=readonly)
            first, self.opened = not self.opened, True

            class Held:
                async def __aenter__(self) -> object:
                    if first:
                        await gate.wait()  # the database is slow to answer, once
                    return await entered.__aenter__()

                async def __aexit__(self, *exc: object) -> None:
                    await entered.__aexit__(*exc)

            return Held()

    h = Harness(keep_ratio=1.0, uow=SlowUnitOfWork())
    h.send(*checkout(1))
    h.clock.advance(SETTLE)
    in_flight = asyncio.create_task(h.sampler.flush())
    await asyncio.sleep(0.01)  # the round now waits for the store
    h.send(*checkout(2))
    closing = asyncio.create_task(h.sampler.close())
    await asyncio.sleep(0.01)
    assert not closing.done() and h.stored == set()
    gate.set()
    await asyncio.wait_for(asyncio.gather(in_flight, closing), 5)
    assert h.stored == {trace_id(1), trace_id(2)} and h.metrics.spans_held() == 0


async def test_when_the_store_falls_behind_kept_traces_waiting_for_it_stay_bounded() -> None:
    h = Harness(keep_ratio=1.0, max_spans=5)
    h.send(*checkout(1))
    h.send(*checkout(2))  # over the limit: trace 1 decided, waits for the store (3 spans)
    h.send(*checkout(3, status="error"))  # trace 2 decided: no room left while 1 waits

    assert h.metrics.counts["kept:sampled"] == 1 and h.metrics.counts["dropped:backlog"] == 1
    await h.sampler.close()  # shutting down keeps whatever the rules keep

    assert h.stored == {trace_id(1), trace_id(3)}
