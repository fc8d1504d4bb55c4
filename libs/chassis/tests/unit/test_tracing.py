"""The span recorder: W3C propagation, sampling, parentage, and the OTLP/JSON encoding."""

from __future__ import annotations

import math
from typing import Any

import orjson
import pytest

from chassis.testing import InMemoryExporter
from chassis.trace_export import encode_records
from chassis.tracing import (
    SpanContext,
    SpanKind,
    StatusCode,
    Tracing,
    current_ids,
    extract,
    inject,
    parse_traceparent,
)

pytestmark = pytest.mark.unit

PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def spans() -> list[Any]:
    return []


@pytest.fixture
def tracing(spans: list[Any]) -> Tracing:
    return Tracing(InMemoryExporter(spans))


@pytest.mark.parametrize("header", [
    "", "garbage", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331",
    "00-00000000000000000000000000000000-b7ad6b7169203331-01",
    "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",
    "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",
    "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-extra",
])
def test_malformed_traceparents_are_ignored(header: str) -> None:
    assert parse_traceparent(header) is None


def test_a_traceparent_round_trips() -> None:
    context = extract({"traceparent": PARENT})
    assert context == SpanContext("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", True)
    carrier: dict[str, str] = {}
    inject(carrier, context)
    assert carrier == {"traceparent": PARENT}
    assert extract({}) is None


def test_a_continued_span_is_a_child_of_its_remote_parent(tracing: Tracing,
                                                          spans: list[Any]) -> None:
    with tracing.continue_trace("GET /x", extract({"traceparent": PARENT}),
                                kind=SpanKind.SERVER) as server:
        assert current_ids() == (server.context.trace_id, server.context.span_id)
        with tracing.child_span("inner") as inner:
            inner.set_attribute("k", 1)
    assert current_ids() is None
    assert [s.name for s in spans] == ["inner", "GET /x"]
    assert spans[0].parent_id == server.context.span_id
    assert server.parent_id == "b7ad6b7169203331" and server.end_ns >= server.start_ns


def test_nothing_is_recorded_without_a_trace_to_continue(tracing: Tracing,
                                                         spans: list[Any]) -> None:
    with tracing.continue_trace("GET /x", None) as span:
        assert not span.is_recording()
        with tracing.child_span("inner"):
            pass
    tracing.record("db.transaction", 0)
    assert spans == []


def test_an_unsampled_trace_is_carried_on_but_not_recorded(tracing: Tracing,
                                                           spans: list[Any]) -> None:
    unsampled = extract({"traceparent": PARENT[:-2] + "00"})
    with tracing.continue_trace("GET /x", unsampled) as span:
        assert not span.is_recording()
        carrier: dict[str, str] = {}
        assert tracing.inject_current(carrier, "publish x")
        assert carrier["traceparent"].endswith("-00")
    assert spans == []


def test_the_edge_samples_new_traces_by_trace_id(spans: list[Any]) -> None:
    none = Tracing(InMemoryExporter(spans), sample_ratio=0.0)
    for _ in range(20):
        with none.span("root"):
            pass
    assert spans == []
    every = Tracing(InMemoryExporter(spans), sample_ratio=1.0)
    with every.span("root") as root:
        pass
    assert spans == [root] and root.parent_id == ""


def test_an_exception_marks_the_span_as_an_error(tracing: Tracing, spans: list[Any]) -> None:
    with pytest.raises(ValueError), tracing.span("work"):
        raise ValueError("bad input")
    assert spans[0].status is StatusCode.ERROR and "bad input" in spans[0].status_message


def test_a_publish_is_an_event_of_the_publishing_span(tracing: Tracing,
                                                      spans: list[Any]) -> None:
    with tracing.span("handler") as span:
        carrier: dict[str, str] = {}
        tracing.inject_current(carrier, "publish a.B.v1", {"messaging.message.id": "m1"})
    assert carrier["traceparent"] == f"00-{span.context.trace_id}-{span.context.span_id}-01"
    assert [(name, attrs) for _, name, attrs in spans[0].events] == [
        ("publish a.B.v1", {"messaging.message.id": "m1"})]


def test_spans_encode_as_otlp_json(tracing: Tracing, spans: list[Any]) -> None:
    with tracing.span("GET /x", kind=SpanKind.SERVER, attributes={
            "http.route": "/x", "n": 3, "ok": True, "ratio": 0.5}) as span:
        span.add_event("publish a.B.v1")
        span.set_status(StatusCode.ERROR, "boom")
    doc = orjson.loads(encode_records({"service.name": "orders"}, [s.record() for s in spans]))
    (resource_spans,) = doc["resourceSpans"]
    assert resource_spans["resource"]["attributes"] == [
        {"key": "service.name", "value": {"stringValue": "orders"}}]
    (encoded,) = resource_spans["scopeSpans"][0]["spans"]
    assert encoded["traceId"] == span.context.trace_id and len(encoded["spanId"]) == 16
    assert encoded["kind"] == 2 and "parentSpanId" not in encoded
    assert int(encoded["endTimeUnixNano"]) >= int(encoded["startTimeUnixNano"])
    assert {a["key"]: a["value"] for a in encoded["attributes"]} == {
        "http.route": {"stringValue": "/x"}, "n": {"intValue": "3"},
        "ok": {"boolValue": True}, "ratio": {"doubleValue": 0.5}}
    assert encoded["status"] == {"code": 2, "message": "boom"}
    assert encoded["events"][0]["name"] == "publish a.B.v1"


@pytest.mark.parametrize("ratio", [0.0, 1e-9, 0.1, 0.25, 0.5, 0.999999, 1.0, 2.0])
def test_sampling_compares_digits_exactly_as_the_numbers_they_write(ratio: float) -> None:
    import os

    from chassis.tracing import sampled

    edges = [f"{n:016x}" for n in (0, 1, 2**63, 2**64 - 1,
                                   min(2**64 - 1, math.ceil(ratio * 2.0**64)),
                                   max(0, min(2**64 - 1, math.ceil(ratio * 2.0**64) - 1)))]
    lows = [os.urandom(8).hex() for _ in range(2000)] + edges
    for low in lows:
        trace_id = os.urandom(8).hex() + low
        assert sampled(trace_id, ratio) is (int(low, 16) < ratio * 2.0**64), (low, ratio)
