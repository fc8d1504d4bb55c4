"""A trace as a tree: each span under its parent, siblings by start time."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from telemetry.domain.spans import Span

__all__ = ["SpanNode", "build_tree", "by_start"]


@dataclass(slots=True)
class SpanNode:
    span: Span
    children: list[SpanNode] = field(default_factory=list)


def by_start(spans: Iterable[Span]) -> list[Span]:
    """Spans ordered by start time (then end time and id, so the order is stable)."""
    return sorted(spans, key=lambda s: (s.start_ns, s.end_ns, s.span_id))


def build_tree(spans: Iterable[Span]) -> list[SpanNode]:
    """The roots, each with its descendants. A span whose parent is not in the trace (not
    received, or pruned from a service's batch) is shown as a root rather than dropped."""
    ordered = by_start(spans)
    nodes = {span.span_id: SpanNode(span) for span in ordered}
    roots: list[SpanNode] = []
    for span in ordered:
        node = nodes[span.span_id]
        parent = nodes.get(span.parent_span_id) if span.parent_span_id else None
        if parent is None or parent is node:
            roots.append(node)
        else:
            parent.children.append(node)
    if len(nodes) > len(roots):
        _break_cycles(ordered, nodes, roots)
        roots.sort(key=lambda n: (n.span.start_ns, n.span.end_ns, n.span.span_id))
    return roots


def _break_cycles(ordered: list[Span], nodes: dict[str, SpanNode], roots: list[SpanNode]) -> None:
    # spans whose parent links loop (a malformed export) are reachable from no root: cut each
    # loop at its earliest span, which then becomes a root
    reached: set[str] = set()

    def reach(node: SpanNode) -> None:
        stack = [node]
        while stack:
            current = stack.pop()
            if current.span.span_id not in reached:
                reached.add(current.span.span_id)
                stack.extend(current.children)

    for root in roots:
        reach(root)
    for span in ordered:
        if span.span_id in reached:
            continue
        node = nodes[span.span_id]
        if span.parent_span_id in nodes:
            nodes[span.parent_span_id].children.remove(node)
        roots.append(node)
        reach(node)
