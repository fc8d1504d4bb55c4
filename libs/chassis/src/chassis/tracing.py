"""Distributed tracing: one trace per checkout, across HTTP and NATS, at a few microseconds a span.

A lean recorder of our own rather than the OpenTelemetry SDK: measured here, the SDK costs ~19 µs
to start and end a span and ~21 µs to encode it as protobuf, which is more than most of our
handlers cost (docs/decisions.md, "Tracing"). What stays standard is everything outside the
process: W3C ``traceparent`` for propagation and OTLP/HTTP with the JSON encoding for export, so a
collector (Jaeger, Tempo, the OpenTelemetry Collector) or the embedded trace store takes the spans
as they are.

* :meth:`Tracing.span` starts a span, current for its ``with`` block (a ``ContextVar``); with no
  parent given it continues the current span, or starts a trace (the edge does that).
* :meth:`Tracing.child_span` only inside a recorded trace: background work starts no traces.
* :meth:`Tracing.record` adds a span after the fact (a unit of work that turned out slow).
* :func:`inject` / :func:`extract` move the context through HTTP and message headers.

Finished spans go to an :class:`~chassis.trace_export.OtlpJsonExporter`, which posts them in one
batch a second from a daemon thread. With no endpoint configured tracing is off and every hook
here costs one attribute check.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Mapping, MutableMapping
from contextvars import ContextVar, Token
from enum import IntEnum
from typing import Any, NamedTuple, Protocol


class SpanSink(Protocol):
    """Where finished spans go (:class:`~chassis.trace_keep.TailKeep`, or a test's)."""

    def add(self, span: Span) -> None: ...

    def add_record(self, span: SpanRecord) -> None: ...

    def flush(self, timeout: float = 5.0) -> None: ...

    def shutdown(self) -> None: ...

    async def aclose(self) -> None: ...

__all__ = [
    "NO_TRACING",
    "KeepVerdict",
    "NonRecordingSpan",
    "Span",
    "SpanContext",
    "SpanKind",
    "SpanRecord",
    "SpanSink",
    "StatusCode",
    "Tracing",
    "current_ids",
    "current_span",
    "extract",
    "inject",
    "parse_traceparent",
    "sampled",
    "sampling_bound",
]


class SpanKind(IntEnum):
    """OTLP's span kinds (the numbers are the wire values)."""

    INTERNAL = 1
    SERVER = 2
    CLIENT = 3
    PRODUCER = 4
    CONSUMER = 5


class StatusCode(IntEnum):
    UNSET = 0
    OK = 1
    ERROR = 2


class SpanContext(NamedTuple):
    """What crosses a process boundary: ids in lower-case hex, and the sampling decision (a
    tuple: made for every span, and a frozen dataclass costs several times more to build)."""

    trace_id: str
    span_id: str
    sampled: bool = True


_HEX = frozenset("0123456789abcdef")
_ZERO_TRACE = "0" * 32
_ZERO_SPAN = "0" * 16


_ID_POOL: list[str] = []


def _ids(bits: int) -> str:
    """``bits // 4`` random hex digits, cut from one ``os.urandom`` call per 128 trace ids
    (formatting a random integer per id cost a per cent of a service's CPU)."""
    pool = _ID_POOL
    if not pool:
        chunk = os.urandom(2048).hex()
        pool.extend(chunk[i:i + 16] for i in range(0, len(chunk), 16))
    if bits == 64:
        return pool.pop()
    return pool.pop() + (pool.pop() if pool else _ids(64))


def sampled(trace_id: str, ratio: float) -> bool:
    """The same rule everywhere (the trace store's keep ratio too): the trace id's low 64 bits
    below ``ratio`` of their range, so every component decides alike without talking.

    Trace ids are lower-case hex (parse_traceparent refuses others), and 16 lower-case hex
    digits order as the numbers they write: the digits compare with the bound's, unparsed."""
    if ratio >= 1.0:
        return True
    bound = _BOUNDS.get(ratio)
    if bound is None:
        bound = sampling_bound(ratio)
    return trace_id[16:] < bound


_BOUNDS: dict[float, str] = {}


def sampling_bound(ratio: float) -> str:
    """The 16 hex digits of ``ceil(ratio * 2**64)``: :func:`sampled` is ``trace_id[16:] <
    sampling_bound(ratio)`` (for a rule checked per span, without the call)."""
    bound = _BOUNDS.get(ratio)
    if bound is None:
        limit = math.ceil(max(ratio, 0.0) * 2.0**64)
        bound = _BOUNDS[ratio] = "g" if limit >= 2**64 else f"{limit:016x}"  # "g": above any id
    return bound


class SpanRecord(NamedTuple):
    """A finished span, compact: what the keep rules hold and the exporter encodes. Its fields
    are plain values and tuples, which the garbage collector stops tracking, so holding a few
    seconds of spans costs no collection time."""

    trace_id: str
    span_id: str
    parent_id: str
    name: str
    kind: int
    start_ns: int
    end_ns: int
    status: int = 0
    status_message: str = ""
    attributes: tuple[tuple[str, Any], ...] = ()
    events: tuple[tuple[int, str, tuple[tuple[str, Any], ...]], ...] = ()


class Span:
    """A recorded span. Attributes are plain values (str, bool, int, float)."""

    __slots__ = ("attributes", "context", "end_ns", "events", "kind", "name", "parent_id",
                 "start_ns", "status", "status_message")

    def __init__(self, name: str, context: SpanContext, parent_id: str, kind: SpanKind,
                 attributes: Mapping[str, Any] | None, start_ns: int) -> None:
        self.name = name
        self.context = context
        self.parent_id = parent_id
        self.kind = kind
        self.attributes: dict[str, Any] = dict(attributes) if attributes else {}
        self.start_ns = start_ns
        self.end_ns = 0
        self.status = StatusCode.UNSET
        self.status_message = ""
        self.events: list[tuple[int, str, Mapping[str, Any] | None]] | None = None

    def is_recording(self) -> bool:
        return True

    def get_span_context(self) -> SpanContext:
        return self.context

    def set_attribute(self, key: str, value: Any) -> None:
        self.attributes[key] = value

    def set_status(self, code: StatusCode, description: str = "") -> None:
        self.status = code
        self.status_message = description

    def update_name(self, name: str) -> None:
        self.name = name

    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None) -> None:
        if self.events is None:
            self.events = []
        self.events.append((time.time_ns(), name, attributes))

    def record(self) -> SpanRecord:
        """This span, finished, as a :class:`SpanRecord`."""
        context = self.context
        return SpanRecord(
            context.trace_id, context.span_id, self.parent_id, self.name, int(self.kind),
            self.start_ns, self.end_ns, int(self.status), self.status_message,
            tuple(self.attributes.items()),
            tuple((at, name, tuple(attrs.items()) if attrs else ())
                  for at, name, attrs in self.events) if self.events else ())


class NonRecordingSpan:
    """A context carried on without recording (an unsampled trace), or no trace at all."""

    __slots__ = ("context",)

    def __init__(self, context: SpanContext | None) -> None:
        self.context = context

    def is_recording(self) -> bool:
        return False

    def get_span_context(self) -> SpanContext | None:
        return self.context

    def set_attribute(self, key: str, value: Any) -> None:
        pass

    def set_status(self, code: StatusCode, description: str = "") -> None:
        pass

    def update_name(self, name: str) -> None:
        pass

    def add_event(self, name: str, attributes: Mapping[str, Any] | None = None) -> None:
        pass


AnySpan = Span | NonRecordingSpan
_NOOP = NonRecordingSpan(None)
_current: ContextVar[AnySpan | None] = ContextVar("souk_current_span", default=None)


def current_span() -> AnySpan:
    """The span of the running code (a non-recording stand-in outside any trace)."""
    return _current.get() or _NOOP


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) of the current span, for log lines; None outside a trace."""
    span = _current.get()
    if span is None or span.context is None:
        return None
    return span.context.trace_id, span.context.span_id


def inject(carrier: MutableMapping[str, str], context: SpanContext | None = None) -> None:
    """Write ``traceparent`` for ``context`` (the current span's by default) into ``carrier``."""
    if context is None:
        span = _current.get()
        context = None if span is None else span.context
    if context is not None:
        flags = "01" if context.sampled else "00"
        carrier["traceparent"] = f"00-{context.trace_id}-{context.span_id}-{flags}"


def extract(carrier: Mapping[str, str]) -> SpanContext | None:
    """The remote parent in ``carrier``'s ``traceparent`` (W3C Trace Context), or None when it
    is absent or malformed (a malformed one starts nothing: the caller is then the edge)."""
    value = carrier.get("traceparent")
    return None if value is None else parse_traceparent(value)


# the one form Souk's own processes send (version 00, lower-case hex): checked in one C call
_TRACEPARENT_00 = re.compile("00-([0-9a-f]{32})-([0-9a-f]{16})-0([01])")


def parse_traceparent(value: str) -> SpanContext | None:
    match = _TRACEPARENT_00.fullmatch(value)
    if match is not None:
        trace_id, span_id, flag = match.groups()
        if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN:
            return None
        return SpanContext(trace_id, span_id, flag == "1")
    parts = value.strip().split("-")
    if len(parts) < 4 or parts[0] == "ff" or len(parts[0]) != 2:
        return None
    trace_id, span_id, flags = parts[1], parts[2], parts[3]
    if (len(trace_id) != 32 or len(span_id) != 16 or len(flags) != 2
            or not _HEX.issuperset(trace_id) or not _HEX.issuperset(span_id)
            or not _HEX.issuperset(flags) or trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN):
        return None
    if parts[0] == "00" and len(parts) != 4:
        return None
    return SpanContext(trace_id, span_id, sampled=bool(int(flags, 16) & 1))


class _Scope:
    """Makes a span current for a ``with`` block and finishes it at the end."""

    __slots__ = ("_exporter", "_span", "_token")

    def __init__(self, span: AnySpan, exporter: SpanSink | None) -> None:
        self._span = span
        self._exporter = exporter
        self._token: Token[AnySpan | None] | None = None

    def __enter__(self) -> Any:
        self._token = _current.set(self._span)
        return self._span

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: object) -> None:
        if self._token is not None:
            _current.reset(self._token)
        span = self._span
        if self._exporter is not None and isinstance(span, Span):
            if exc is not None and isinstance(exc, Exception) and span.status is StatusCode.UNSET:
                span.set_status(StatusCode.ERROR, f"{type(exc).__name__}: {exc}"[:300])
            span.end_ns = time.time_ns()
            self._exporter.add(span)


class _Nothing:
    """The scope of a disabled tracer or of no trace: yields a non-recording span, sets nothing."""

    __slots__ = ()

    def __enter__(self) -> Any:
        return _current.get() or _NOOP

    def __exit__(self, *exc: object) -> None:
        return None


_NOTHING = _Nothing()


class KeepVerdict(Protocol):
    """The keep rules' verdict on a span finishing now (see :attr:`Tracing.wants`)."""

    def __call__(self, trace_id: str, failed: bool, duration_ns: int,
                 flagged: bool = False) -> bool: ...


def _keep_all(trace_id: str, failed: bool, duration_ns: int, flagged: bool = False) -> bool:
    return True


def _keep_none(trace_id: str, failed: bool, duration_ns: int, flagged: bool = False) -> bool:
    return False


class Tracing:
    """A process's tracer, or a disabled stand-in (``enabled`` False: spans never start).

    ``sample_ratio`` is the head-sampling share of the traces this process *starts* (only the
    edge starts traces); a continued trace keeps the caller's decision. The embedded default
    records every trace and lets the trace store keep what is worth keeping (tail rules)."""

    def __init__(self, exporter: SpanSink | None = None, *,
                 sample_ratio: float = 1.0) -> None:
        self.exporter = exporter
        self.enabled = exporter is not None
        self.sample_ratio = sample_ratio
        rules = getattr(exporter, "wants", None)
        # Whether the keep rules keep a span of a trace finishing now, without holding it
        # (chassis.trace_keep.TailKeep.wants): ``wants(trace_id, failed, duration_ns,
        # flagged=False)``; record it with add_record if so. The rules' own method when the
        # exporter has them (the edge calls it once per request: no layer in between).
        self.wants: KeepVerdict = (rules if rules is not None
                                   else _keep_all if exporter is not None else _keep_none)

    @classmethod
    def from_settings(cls, service: str, instance: str, endpoint: str, sample_ratio: float, *,
                      keep_ratio: float = 1.0, slow_ms: float = 500.0) -> Tracing:
        """Export to ``<endpoint>/v1/traces`` (OTLP/HTTP, JSON) the spans of the traces the
        tail rules keep (:mod:`chassis.trace_keep`); disabled when ``endpoint`` is empty."""
        if not endpoint:
            return NO_TRACING
        from chassis.trace_export import OtlpJsonExporter
        from chassis.trace_keep import TailKeep

        exporter = OtlpJsonExporter(endpoint.rstrip("/") + "/v1/traces",
                                    {"service.name": service, "service.instance.id": instance})
        return cls(TailKeep(exporter, keep_ratio=keep_ratio, slow_ms=slow_ms),
                   sample_ratio=sample_ratio)

    def span(self, name: str, *, kind: SpanKind = SpanKind.INTERNAL,
             parent: SpanContext | None = None,
             attributes: Mapping[str, Any] | None = None) -> Any:
        """A context manager: a span current for the ``with`` block, a child of ``parent`` (a
        remote context) or of the current span; a new trace when there is neither."""
        if self.exporter is None:
            return _NOTHING
        if parent is None:
            current = _current.get()
            parent = None if current is None else current.context
        if parent is None:
            trace_id = _ids(128)
            if not sampled(trace_id, self.sample_ratio):
                # unsampled: the context still travels, so the decision holds downstream
                return _Scope(NonRecordingSpan(SpanContext(trace_id, _ids(64), False)), None)
            context, parent_id = SpanContext(trace_id, _ids(64)), ""
        elif not parent.sampled:
            return _Scope(NonRecordingSpan(parent), None)
        else:
            context, parent_id = SpanContext(parent.trace_id, _ids(64)), parent.span_id
        return _Scope(Span(name, context, parent_id, kind, attributes, time.time_ns()),
                      self.exporter)

    def start_root(self, name: str, *, kind: SpanKind = SpanKind.SERVER,
                   attributes: Mapping[str, Any] | None = None) -> AnySpan:
        """A new trace's root span that is *not* made current: for code that knows which span is
        its own without a context variable (the gateway's callbacks), so it need not run each
        request in a context of its own. End it with :meth:`finish`."""
        trace_id = _ids(128)
        if self.exporter is None or not sampled(trace_id, self.sample_ratio):
            return NonRecordingSpan(SpanContext(trace_id, _ids(64), False))
        return Span(name, SpanContext(trace_id, _ids(64)), "", kind, attributes, time.time_ns())

    def finish(self, span: AnySpan) -> None:
        """End a span from :meth:`start_root` and pass it on."""
        if self.exporter is not None and isinstance(span, Span):
            span.end_ns = time.time_ns()
            self.exporter.add(span)

    def add_record(self, span: SpanRecord) -> None:
        """A span finished elsewhere, as a record (the gateway makes no span objects)."""
        if self.exporter is not None:
            self.exporter.add_record(span)

    def keep(self, span: AnySpan) -> None:
        """Keep ``span``'s trace whatever the keep ratio (a cancelled checkout), decided now
        rather than when a span ends: the answer being worked on then says so
        (``souk-trace-keep``), so the edge keeps its span of the trace too."""
        if self.exporter is None or not isinstance(span, Span):
            return
        span.attributes["souk.keep"] = True
        keep_now = getattr(self.exporter, "keep_now", None)
        if keep_now is not None:
            keep_now(span.context.trace_id)

    def is_kept(self, trace_id: str) -> bool:
        """Whether ``trace_id`` is kept by a rule other than the ratio (see :meth:`keep`)."""
        is_kept = getattr(self.exporter, "is_kept", None)
        return is_kept is not None and bool(is_kept(trace_id))

    def continue_trace(self, name: str, parent: SpanContext | None, *,
                       kind: SpanKind = SpanKind.INTERNAL,
                       attributes: Mapping[str, Any] | None = None) -> Any:
        """A span continuing ``parent`` (a request's or a message's remote context); nothing
        when there is none: services continue traces, only the edge starts them, so heartbeats,
        probes, operators' direct calls and untraced messages make no traces of their own."""
        if parent is None or self.exporter is None:
            return _NOTHING
        return self.span(name, kind=kind, parent=parent, attributes=attributes)

    def child_span(self, name: str, *, kind: SpanKind = SpanKind.INTERNAL,
                   attributes: Mapping[str, Any] | None = None) -> Any:
        """A span only inside a recorded trace: work outside any request or message (background
        loops) starts no traces of its own."""
        current = _current.get()
        if self.exporter is None or current is None or not current.is_recording():
            return _NOTHING
        return self.span(name, kind=kind, attributes=attributes)

    def record(self, name: str, start_ns: int, *, kind: SpanKind = SpanKind.INTERNAL,
               attributes: Mapping[str, Any] | None = None, error: str = "") -> None:
        """A child of the current span that already happened (from ``start_ns`` to now): for
        work worth a span only when it turned out slow."""
        current = _current.get()
        if self.exporter is None or not isinstance(current, Span):
            return
        span = Span(name, SpanContext(current.context.trace_id, _ids(64)),
                    current.context.span_id, kind, attributes, start_ns)
        if error:
            span.set_status(StatusCode.ERROR, error)
        span.end_ns = time.time_ns()
        self.exporter.add(span)

    def inject_current(self, carrier: MutableMapping[str, str], event: str = "",
                       attributes: Mapping[str, Any] | None = None) -> bool:
        """Put the current trace context into ``carrier`` (a message's headers), recording
        ``event`` on the current span; False when there is no trace to carry on. A publish is an
        event of the span that publishes rather than a span of its own."""
        current = _current.get()
        if self.exporter is None or current is None or current.context is None:
            return False
        if event:
            current.add_event(event, attributes)
        inject(carrier, current.context)
        return True

    def flush(self, timeout: float = 5.0) -> None:
        """Export what is queued now (tests, shutdown)."""
        if self.exporter is not None:
            self.exporter.flush(timeout)

    def shutdown(self) -> None:
        """Export what is queued, blocking (a process without a running loop)."""
        if self.exporter is not None:
            self.exporter.shutdown()

    async def aclose(self) -> None:
        """Export what is queued and stop exporting (a service's shutdown)."""
        if self.exporter is not None:
            await self.exporter.aclose()


NO_TRACING = Tracing()
