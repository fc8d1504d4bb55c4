"""A trace's span tree laid out as a waterfall: depth first, children by start, bars in whole
percent of the trace that never leave it."""

from __future__ import annotations

from typing import Any

import pytest

from web.domain.waterfall import layout

pytestmark = pytest.mark.unit

MS = 1_000_000


def span(name: str, start_ms: float, end_ms: float, *children: dict[str, Any],
         status: str = "ok") -> dict[str, Any]:
    return {"span_id": name, "service": name.split(".")[0], "name": name,
            "start_ns": int(1e18 + start_ms * MS), "end_ns": int(1e18 + end_ms * MS),
            "status": status, "children": list(children)}


def test_spans_come_depth_first_with_bars_in_percent_of_the_trace() -> None:
    tree = [span("gateway.POST", 0, 100,
                 span("orders.place", 50, 100, span("payments.authorize", 60, 90)),
                 span("cart.get", 10, 30))]
    w = layout(tree)
    assert [(r.name, r.depth) for r in w.rows] == [
        ("gateway.POST", 0), ("cart.get", 1), ("orders.place", 1), ("payments.authorize", 2)]
    assert [(r.at, r.width) for r in w.rows] == [(0, 100), (10, 20), (50, 50), (60, 30)]
    assert w.duration_ms == 100.0
    assert w.rows[3].offset_ms == 60.0 and w.rows[3].duration_ms == 30.0


def test_a_tiny_span_still_shows_and_no_bar_leaves_the_trace() -> None:
    w = layout([span("a.root", 0, 1000, span("b.tiny", 999.9, 1000), span("c.late", 995, 1000))])
    for row in w.rows:
        assert row.width >= 1 and 0 <= row.at <= 99 and row.at + row.width <= 100
    assert w.rows[1].name == "c.late"


def test_an_error_span_is_marked_and_rows_past_the_limit_are_counted() -> None:
    children = [span(f"s.{i}", i, i + 1, status="error" if i == 0 else "ok") for i in range(10)]
    w = layout([span("r.root", 0, 20, *children)], max_rows=5)
    assert len(w.rows) == 5 and w.hidden == 6
    assert w.rows[1].error and not w.rows[2].error


def test_no_spans_no_rows() -> None:
    assert layout([]).rows == []
