"""Distributed tracing with the OpenTelemetry SDK: one trace per checkout, across HTTP and NATS.

Every process builds its own :class:`Tracing` from its settings (``<PREFIX>OTLP_ENDPOINT``, the
base URL of an OTLP/HTTP receiver, and ``<PREFIX>TRACE_SAMPLE_RATIO``). Spans go out in batches
from a background thread (``BatchSpanProcessor``), so the request path only pays for creating
them. Context travels as W3C ``traceparent``/``tracestate``: in HTTP headers (chassis server and
client, the gateway) and in NATS message headers, which the outbox stores with the row, so a
message published from a handler continues that handler's trace however late it is relayed.

With no endpoint configured tracing is off and every hook here costs one attribute check.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

__all__ = ["NO_TRACING", "SpanKind", "Status", "StatusCode", "Tracing", "current_ids",
           "extract", "inject"]

_PROPAGATOR = TraceContextTextMapPropagator()


def inject(carrier: MutableMapping[str, str], ctx: otel_context.Context | None = None) -> None:
    """Write the W3C trace headers of ``ctx`` (the current context by default) into ``carrier``."""
    _PROPAGATOR.inject(carrier, context=ctx)


def extract(carrier: Mapping[str, str]) -> otel_context.Context | None:
    """The remote parent in ``carrier``'s ``traceparent``, or None."""
    if "traceparent" not in carrier:
        return None
    return _PROPAGATOR.extract(carrier)


def current_ids() -> tuple[str, str] | None:
    """(trace id, span id) in hex of the current span, for log lines; None outside a span."""
    ctx = trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None
    return format(ctx.trace_id, "032x"), format(ctx.span_id, "016x")


class Tracing:
    """A process's tracer, or a disabled stand-in (``enabled`` False, spans never started)."""

    def __init__(self, tracer: Tracer | None = None, provider: Any = None) -> None:
        self.tracer = tracer
        self.enabled = tracer is not None
        self._provider = provider

    @classmethod
    def from_settings(cls, service: str, instance: str, endpoint: str,
                      sample_ratio: float) -> Tracing:
        """Export to ``<endpoint>/v1/traces`` (OTLP/HTTP, protobuf); disabled when empty."""
        if not endpoint:
            return NO_TRACING
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

        resource = Resource.create({"service.name": service, "service.instance.id": instance})
        provider = TracerProvider(resource=resource,
                                  sampler=ParentBased(TraceIdRatioBased(sample_ratio)))
        exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces", timeout=5)
        provider.add_span_processor(BatchSpanProcessor(
            exporter, max_queue_size=20000, max_export_batch_size=2000, schedule_delay_millis=1000))
        return cls(provider.get_tracer("souk", schema_url="https://opentelemetry.io/schemas/1.26.0"),
                   provider)

    def span(self, name: str, *, kind: SpanKind = SpanKind.INTERNAL,
             parent: otel_context.Context | None = None,
             attributes: Mapping[str, Any] | None = None) -> contextlib.AbstractContextManager[Span]:
        """A span made current for the ``with`` block (a no-op span when disabled)."""
        if self.tracer is None:
            return contextlib.nullcontext(_NOOP)
        if parent is not None:
            remote = trace.get_current_span(parent).get_span_context()
            if remote.is_valid and not remote.trace_flags.sampled:
                # an unsampled trace stays unsampled downstream: carry its context on, but
                # spare building a span the sampler would drop anyway
                return trace.use_span(NonRecordingSpan(remote), end_on_exit=False)
        return self.tracer.start_as_current_span(name, context=parent, kind=kind,
                                                 attributes=attributes)

    @contextlib.contextmanager
    def child_span(self, name: str, *, kind: SpanKind = SpanKind.INTERNAL,
                   attributes: Mapping[str, Any] | None = None) -> Iterator[Span]:
        """A span only inside an existing trace (database, saga steps): background loops that
        run outside any request or message start no traces of their own."""
        if self.tracer is None or not trace.get_current_span().is_recording():
            yield _NOOP
            return
        with self.tracer.start_as_current_span(name, kind=kind, attributes=attributes) as span:
            yield span

    def inject_current(self, carrier: MutableMapping[str, str], event: str = "",
                       attributes: Mapping[str, Any] | None = None) -> bool:
        """Put the current trace context into ``carrier`` (a message's headers), recording
        ``event`` on the current span; False when there is no trace to carry on. A publish is an
        event of the span that publishes rather than a span of its own: a span costs ~25 µs
        here before export, an event a few."""
        if self.tracer is None:
            return False
        span = trace.get_current_span()
        if not span.get_span_context().is_valid:
            return False
        if event and span.is_recording():
            span.add_event(event, attributes=attributes)
        inject(carrier)
        return True

    def shutdown(self) -> None:
        if self._provider is not None:
            self._provider.shutdown()


_NOOP = NonRecordingSpan(trace.INVALID_SPAN_CONTEXT)
NO_TRACING = Tracing()
