"""The holding buffer (settling, the longest hold, the memory bound) and the decision memory."""

from __future__ import annotations

import pytest

from telemetry.domain.holding import Decisions, TraceBuffer

from ...conftest import MS, T0, fragment, make_span, trace_id

pytestmark = pytest.mark.unit


def buffer(**overrides: float) -> TraceBuffer:
    params: dict[str, float] = {"settle_seconds": 3, "max_hold_seconds": 30, "max_spans": 100}
    params.update(overrides)
    return TraceBuffer(settle_seconds=params["settle_seconds"],
                       max_hold_seconds=params["max_hold_seconds"],
                       max_spans=int(params["max_spans"]))


def test_a_trace_is_due_once_nothing_arrived_for_the_settle_time() -> None:
    held = buffer()
    held.add(fragment(make_span(trace=1, span=1)), now=0)
    held.add(fragment(make_span(trace=2, span=1)), now=1)
    held.add(fragment(make_span(trace=1, span=2, parent=1, start_ms=5, duration_ms=200,
                                status="error")), now=2)

    assert held.take_due(now=3.5) == []
    [trace2] = held.take_due(now=4)
    assert trace2.trace_id == trace_id(2) and held.spans == 2
    [trace1] = held.take_due(now=5)
    assert (trace1.size, trace1.error, trace1.start_ns, trace1.end_ns) == (
        2, True, T0, T0 + 205 * MS)
    assert held.spans == 0 and len(held) == 0


def test_a_trace_that_keeps_receiving_is_due_after_the_longest_hold() -> None:
    held = buffer(settle_seconds=3, max_hold_seconds=10)
    for second in range(12):
        held.add(fragment(make_span(trace=1, span=second + 1)), now=second)
        due = held.take_due(now=second)
        if due:
            break

    assert second == 10 and due[0].size == 11


def test_over_the_span_limit_the_traces_that_arrived_first_go_first() -> None:
    held = buffer(max_spans=5)
    for n in range(1, 4):
        held.add(fragment(*[make_span(trace=n, span=s) for s in range(1, 3)]), now=n)
    held.add(fragment(make_span(trace=1, span=9)), now=4)  # extends the oldest trace

    assert held.over_limit
    taken = held.take_oldest()

    assert [t.trace_id for t in taken] == [trace_id(1)]
    assert held.spans == 4 and not held.over_limit


def test_a_trace_held_again_after_its_decision_is_not_mistaken_for_the_first_holding() -> None:
    held = buffer(settle_seconds=1, max_hold_seconds=5)
    held.add(fragment(make_span(trace=1, span=1)), now=0)
    assert len(held.take_due(now=1)) == 1
    held.add(fragment(make_span(trace=1, span=2)), now=4, late=True)

    # the first holding's arrival (t=0) is past the longest hold at t=5; the new one is not
    assert held.take_due(now=4.5) == []
    [late] = held.take_due(now=5.5)
    assert late.late and late.size == 1


def test_decisions_forget_the_least_recently_used_first() -> None:
    decisions = Decisions(2)
    decisions.record("a", True)
    decisions.record("b", False)
    assert decisions.get("a") is True  # used: now the most recent
    decisions.record("c", True)

    assert (decisions.get("a"), decisions.get("b"), decisions.get("c")) == (True, None, True)
    Decisions(0).record("a", True)  # remembers nothing, fails nothing
