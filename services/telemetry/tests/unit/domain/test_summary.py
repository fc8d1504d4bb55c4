from __future__ import annotations

import itertools
from functools import reduce

import pytest

from telemetry.domain.summary import merge, summarize, summarize_batch

from ...conftest import T0, make_span, trace_id

pytestmark = pytest.mark.unit

# one checkout-like trace: gateway root, orders under it, inventory and payments under orders
SPANS = [
    make_span(span=1, service="gateway", name="POST /api/v1/orders", start_ms=0, duration_ms=50,
              kind="server"),
    make_span(span=2, parent=1, service="orders", name="POST /v1/orders", start_ms=2,
              duration_ms=30, souk__order_id="o-1"),
    make_span(span=3, parent=2, service="inventory", name="reserve", start_ms=5, duration_ms=5),
    make_span(span=4, parent=2, service="payments", name="authorize", start_ms=12,
              duration_ms=60, status="error"),
]


def test_a_summary_names_the_root_spans_the_whole_trace_and_lists_its_services() -> None:
    s = summarize(trace_id(1), SPANS)

    assert (s.root_service, s.root_name, s.has_root) == ("gateway", "POST /api/v1/orders", True)
    assert s.start_ns == T0
    assert s.end_ns == T0 + 72_000_000  # payments ends after the root
    assert s.duration_ms == 72.0
    assert s.span_count == 4
    assert s.services == ("gateway", "inventory", "orders", "payments")
    assert s.error is True
    assert s.order_id == "o-1"


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_merging_batches_in_any_arrival_order_gives_the_same_summary(order: tuple[int, ...]) -> None:
    batches = [summarize(trace_id(1), [SPANS[i]]) for i in order]

    assert reduce(merge, batches) == summarize(trace_id(1), SPANS)


def test_the_earliest_span_stands_in_for_the_root_until_the_root_arrives() -> None:
    early = summarize(trace_id(1), [SPANS[3], SPANS[2]])
    assert (early.root_service, early.root_name, early.has_root) == ("inventory", "reserve", False)

    with_root = merge(early, summarize(trace_id(1), [SPANS[0]]))

    assert (with_root.root_service, with_root.has_root) == ("gateway", True)


def test_an_ok_trace_has_no_error_and_no_order_id_when_no_span_carries_one() -> None:
    s = summarize(trace_id(1), SPANS[:1])
    assert (s.error, s.order_id) == (False, None)


def test_a_batch_is_summarized_per_trace() -> None:
    found = summarize_batch([make_span(trace=1), make_span(trace=2, span=2), make_span(trace=1, span=3)])
    assert {t: s.span_count for t, s in found.items()} == {trace_id(1): 2, trace_id(2): 1}


def test_summaries_of_two_traces_do_not_merge() -> None:
    with pytest.raises(ValueError, match="two traces"):
        merge(summarize(trace_id(1), [make_span(trace=1)]), summarize(trace_id(2), [make_span(trace=2)]))
