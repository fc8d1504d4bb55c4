"""Tail keep rules where spans are made (chassis.trace_keep)."""

from __future__ import annotations

import pytest

from chassis.trace_keep import TailKeep
from chassis.tracing import Span, SpanContext, SpanKind, SpanRecord, StatusCode, sampled

pytestmark = pytest.mark.unit

KEPT_BY_RATIO = "0af7651916cd43dd0000000000000001"  # low 64 bits tiny: within any ratio > 0
NOT_BY_RATIO = "0af7651916cd43ddffffffffffffffff"


class Exported:
    def __init__(self) -> None:
        self.spans: list[SpanRecord] = []

    def export(self, span: SpanRecord) -> None:
        self.spans.append(span)

    def flush(self, timeout: float = 5.0) -> None: ...

    def shutdown(self) -> None: ...

    async def aclose(self) -> None: ...


def record(trace_id: str, name: str = "op", *, ms: float = 1.0, status: int = 0,
           keep: bool = False) -> SpanRecord:
    attrs = (("souk.keep", True),) if keep else ()
    return SpanRecord(trace_id, "b7ad6b7169203331", "", name, 2, 0, int(ms * 1e6), status, "",
                      attrs)


def keeper(**kw: float) -> tuple[TailKeep, Exported, list[str]]:
    out, announced = Exported(), []
    tail = TailKeep(out, keep_ratio=kw.get("ratio", 0.1), slow_ms=kw.get("slow", 500),
                    hold_seconds=kw.get("hold", 5.0))
    tail.announce = announced.append
    return tail, out, announced


def test_the_ratio_is_decided_by_the_trace_id_alone() -> None:
    assert sampled(KEPT_BY_RATIO, 0.1) and not sampled(NOT_BY_RATIO, 0.1)
    tail, out, announced = keeper()
    tail.add_record(record(KEPT_BY_RATIO))
    tail.add_record(record(NOT_BY_RATIO))
    assert [s.trace_id for s in out.spans] == [KEPT_BY_RATIO] and announced == []
    assert tail.held == 1


@pytest.mark.parametrize("span", [record(NOT_BY_RATIO, status=2), record(NOT_BY_RATIO, ms=600),
                                  record(NOT_BY_RATIO, keep=True)])
def test_a_failed_slow_or_flagged_span_keeps_its_trace_and_says_so(span: SpanRecord) -> None:
    tail, out, announced = keeper()
    tail.add_record(record(NOT_BY_RATIO, "earlier"))  # held until the trace is decided
    tail.add_record(span)
    tail.add_record(record(NOT_BY_RATIO, "later"))  # the edge's span ends last
    assert sorted(s.name for s in out.spans) == sorted([span.name, "earlier", "later"])
    assert announced == [NOT_BY_RATIO] and tail.held == 0


def test_a_keep_heard_from_another_process_hands_over_the_held_spans() -> None:
    tail, out, announced = keeper()
    tail.add_record(record(NOT_BY_RATIO, "mine"))
    tail.keep(NOT_BY_RATIO)
    tail.add_record(record(NOT_BY_RATIO, "after"))
    assert [s.name for s in out.spans] == ["mine", "after"] and announced == []


def test_a_held_span_is_handed_over_as_the_record_it_would_have_been() -> None:
    tail, out, _ = keeper()
    span = Span("consume orders.OrderPlaced.v1", SpanContext(NOT_BY_RATIO, "b7ad6b7169203331"),
                "00f067aa0ba902b7", SpanKind.CONSUMER, {"souk.order_id": "o-1", "n": 3},
                1_000)
    span.add_event("saga.reserve", {"saga.status": "PENDING"})
    span.add_event("publish inventory.ReserveStock.v1")
    span.set_status(StatusCode.OK)
    span.end_ns = 2_000
    tail.add(span)  # held: neither kept by the ratio nor failed, slow or flagged
    assert tail.held == 1 and out.spans == []
    tail.keep(NOT_BY_RATIO)
    [handed] = out.spans
    assert handed == span.record()
    assert tail.held == 0


def test_a_span_flagged_for_keeping_keeps_its_trace_without_being_held() -> None:
    tail, out, announced = keeper()
    span = Span("GET /x", SpanContext(NOT_BY_RATIO, "b7ad6b7169203331"), "", SpanKind.SERVER,
                {"souk.keep": True}, 0)
    span.end_ns = 1
    tail.add(span)
    assert [s.name for s in out.spans] == ["GET /x"] and announced == [NOT_BY_RATIO]
    assert tail.held == 0


def test_unkept_spans_are_dropped_after_the_hold() -> None:
    tail, out, _ = keeper(hold=0.0)
    tail.add_record(record(NOT_BY_RATIO))
    tail.add_record(record(NOT_BY_RATIO[:-1] + "e"))  # holding the next one expires the first
    tail.keep(NOT_BY_RATIO)
    assert out.spans == [] and tail.dropped >= 1


def test_the_edge_asks_without_holding() -> None:
    tail, _, announced = keeper()
    assert tail.wants(KEPT_BY_RATIO, failed=False, duration_ns=1)
    assert not tail.wants(NOT_BY_RATIO, failed=False, duration_ns=1) and tail.held == 0
    assert tail.wants(NOT_BY_RATIO, failed=True, duration_ns=1)
    assert announced == [NOT_BY_RATIO]
    other = NOT_BY_RATIO[:-1] + "e"
    tail.keep(other)  # a service kept it while the edge waited for the answer
    assert tail.wants(other, failed=False, duration_ns=1)


def test_a_keep_decided_before_any_span_ends_is_said_once_and_holds_for_the_answer() -> None:
    tail, out, announced = keeper()
    tail.add_record(record(NOT_BY_RATIO, "earlier"))
    tail.keep_now(NOT_BY_RATIO)  # a cancelled checkout, decided while its span is open
    tail.keep_now(NOT_BY_RATIO)
    assert announced == [NOT_BY_RATIO] and tail.is_kept(NOT_BY_RATIO)
    assert [s.name for s in out.spans] == ["earlier"]
    assert not tail.is_kept(KEPT_BY_RATIO)  # the ratio needs no word


def test_the_edge_keeps_what_the_upstreams_answer_flagged_without_saying_it_again() -> None:
    tail, _, announced = keeper()
    assert tail.wants(NOT_BY_RATIO, failed=False, duration_ns=1, flagged=True)
    assert tail.is_kept(NOT_BY_RATIO) and announced == []
