"""A trace as a waterfall: its spans depth first (children by start time), each with where its
bar starts and how wide it is, in whole percent of the trace's duration (the page draws the bars
with one CSS class per percent: the CSP allows no style attribute)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_ROWS", "Row", "Waterfall", "layout"]

MAX_ROWS = 300  # a page stays small; the rest is counted, not drawn


@dataclass(frozen=True, slots=True)
class Row:
    span_id: str
    depth: int
    service: str
    name: str
    offset_ms: float  # from the trace's start
    duration_ms: float
    error: bool
    at: int  # bar start, % of the trace (0-99)
    width: int  # bar width, % of the trace (1-100, at + width <= 100)


@dataclass(frozen=True, slots=True)
class Waterfall:
    rows: list[Row]
    duration_ms: float
    hidden: int  # spans past MAX_ROWS


def _walk(nodes: Iterable[Mapping[str, Any]], depth: int) -> Iterable[tuple[int, Mapping[str, Any]]]:
    for node in sorted(nodes, key=lambda n: int(n.get("start_ns", 0))):
        yield depth, node
        yield from _walk(node.get("children") or (), depth + 1)


def layout(tree: Iterable[Mapping[str, Any]], max_rows: int = MAX_ROWS) -> Waterfall:
    """The waterfall of a trace's span tree (roots with nested ``children``, as the trace
    store answers)."""
    spans = list(_walk(list(tree), 0))
    if not spans:
        return Waterfall([], 0.0, 0)
    start = min(int(n["start_ns"]) for _, n in spans)
    end = max(int(n["end_ns"]) for _, n in spans)
    total = max(end - start, 1)
    rows = []
    for depth, node in spans[:max_rows]:
        begin, finish = int(node["start_ns"]), max(int(node["end_ns"]), int(node["start_ns"]))
        at = min(99, (begin - start) * 100 // total)
        width = max(1, min(100 - at, round((finish - begin) * 100 / total)))
        rows.append(Row(str(node.get("span_id", "")), depth, str(node.get("service", "")),
                        str(node.get("name", "")), (begin - start) / 1e6, (finish - begin) / 1e6,
                        node.get("status") == "error", int(at), int(width)))
    return Waterfall(rows, total / 1e6, max(0, len(spans) - max_rows))
