from __future__ import annotations

import pytest

from telemetry.domain.tree import SpanNode, build_tree

from ...conftest import make_span

pytestmark = pytest.mark.unit


def shape(nodes: list[SpanNode]) -> list[object]:
    return [(n.span.name, shape(n.children)) if n.children else n.span.name for n in nodes]


def test_each_span_hangs_under_its_parent_and_siblings_come_by_start_time() -> None:
    spans = [make_span(span=4, parent=2, name="capture", start_ms=20),
             make_span(span=1, name="root", start_ms=0),
             make_span(span=3, parent=2, name="reserve", start_ms=5),
             make_span(span=2, parent=1, name="saga", start_ms=1)]

    assert shape(build_tree(spans)) == [("root", [("saga", ["reserve", "capture"])])]


def test_a_span_whose_parent_never_arrived_becomes_a_root_instead_of_vanishing() -> None:
    spans = [make_span(span=1, name="root"), make_span(span=5, parent=9, name="orphan", start_ms=3)]

    assert shape(build_tree(spans)) == ["root", "orphan"]


def test_parent_links_that_loop_are_cut_so_every_span_is_shown_once() -> None:
    spans = [make_span(span=1, parent=2, name="a", start_ms=0),
             make_span(span=2, parent=1, name="b", start_ms=1),
             make_span(span=3, name="root", start_ms=5)]

    assert shape(build_tree(spans)) == [("a", ["b"]), "root"]


def test_an_empty_trace_has_no_roots() -> None:
    assert build_tree([]) == []
