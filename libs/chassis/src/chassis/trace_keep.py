"""Tail-style keep rules where spans are made: every span is recorded, few are exported.

Encoding, posting and storing a span cost several times more than recording it, and most traces
are never looked at. So each process keeps, and passes on to its exporter, only the spans of the
traces worth keeping:

* a share of all traces, chosen by trace id (``keep_ratio``; every process and the trace store
  decide alike from the id alone, so those traces arrive whole without any talk);
* every trace with a failed span, a span marked ``souk.keep`` (a cancelled checkout), or a span
  lasting ``slow_ms`` or more: the process that sees it keeps the trace and says so on NATS
  (``souk-trace.keep``, core NATS, not the stream); every process holds the spans of the other
  traces for ``hold_seconds`` and hands over those of a trace it hears about.

The spans of traces nobody kept are dropped after the hold. A span of a kept trace that ends
later (the edge's span of a checkout ends last) is passed on directly. The trace store applies the
same rules again to what arrives (services/telemetry, domain/keep.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any, Protocol

import orjson

from chassis.tracing import Span, SpanRecord, sampling_bound

__all__ = ["KEEP_SUBJECT", "TailKeep", "listen_for_keeps"]

KEEP_SUBJECT = "souk-trace.keep"


class Exporter(Protocol):
    def export(self, span: SpanRecord) -> None: ...

    def flush(self, timeout: float = 5.0) -> None: ...

    def shutdown(self) -> None: ...

    async def aclose(self) -> None: ...


_ERROR = 2  # StatusCode.ERROR


class TailKeep:
    """A :class:`~chassis.tracing.SpanSink` in front of an exporter. Runs on the event loop's
    thread only (``add`` from finished spans, ``keep`` from the NATS callback)."""

    def __init__(self, inner: Exporter, *, keep_ratio: float, slow_ms: float,
                 hold_seconds: float = 5.0, max_held: int = 50_000,
                 remembered: int = 20_000) -> None:
        self.inner = inner
        self.keep_ratio = keep_ratio
        self._bound = sampling_bound(keep_ratio)  # sampled(id, keep_ratio): id[16:] < it
        self.slow_ns = int(slow_ms * 1e6)
        self.hold_ns = int(hold_seconds * 1e9)
        self.max_held = max_held
        self.remembered = remembered
        self.announce: Callable[[str], None] | None = None  # set once NATS is there
        self.dropped = 0
        self._kept: OrderedDict[str, None] = OrderedDict()
        # held as JSON bytes, which the garbage collector does not track: seconds of held spans
        # as objects made its full collections take tens of milliseconds at the edge's rates
        self._held: dict[str, bytes] = {}
        self._order: deque[tuple[int, str]] = deque()  # (first held at, trace id)
        self._count = 0

    def set_keep_ratio(self, ratio: float) -> None:
        """Keep this share of ordinary traces from now on (the live setting)."""
        self.keep_ratio = ratio
        self._bound = sampling_bound(ratio)

    def add(self, span: Span) -> None:
        """A span that just ended: the rules of :meth:`add_record`, read off the span itself,
        so that a held span (most of them) is never made a :class:`SpanRecord`."""
        trace_id = span.context.trace_id
        if trace_id[16:] < self._bound or trace_id in self._kept:
            self.inner.export(span.record())
        elif (span.status == _ERROR or span.end_ns - span.start_ns >= self.slow_ns
              or span.attributes.get("souk.keep") is True):
            self.keep(trace_id)
            self.inner.export(span.record())
            if self.announce is not None:
                self.announce(trace_id)
        else:
            events = span.events
            self._hold_line(trace_id, orjson.dumps((
                trace_id, span.context.span_id, span.parent_id, span.name, span.kind,
                span.start_ns, span.end_ns, span.status, span.status_message, span.attributes,
                None if events is None else [
                    (at, name, attrs if attrs is None or type(attrs) is dict else dict(attrs))
                    for at, name, attrs in events])))

    def add_record(self, span: SpanRecord) -> None:
        """A finished span, kept or held by the rules (the gateway hands records directly)."""
        trace_id = span.trace_id
        if trace_id[16:] < self._bound or trace_id in self._kept:
            self.inner.export(span)
        elif (span.status == _ERROR or span.end_ns - span.start_ns >= self.slow_ns
              or ("souk.keep", True) in span.attributes):
            self.keep(trace_id)
            self.inner.export(span)
            if self.announce is not None:
                self.announce(trace_id)
        else:
            self._hold(trace_id, span)

    def wants(self, trace_id: str, failed: bool, duration_ns: int,
              flagged: bool = False) -> bool:
        """Whether a span of ``trace_id`` that just finished is kept, without holding it: for
        the edge, whose span of a checkout ends last and which serves too many requests to hold
        a record of each. ``flagged``: the upstream's answer said its trace is kept
        (``souk-trace-keep``), which holds even before the word on NATS arrives. A failed or
        slow one keeps its trace and says so."""
        if trace_id[16:] < self._bound or trace_id in self._kept:
            return True
        if flagged:
            self.keep(trace_id)
            return True
        if failed or duration_ns >= self.slow_ns:
            self.keep(trace_id)
            if self.announce is not None:
                self.announce(trace_id)
            return True
        return False

    def keep_now(self, trace_id: str) -> None:
        """Keep ``trace_id`` and say so, before any span of it ends (a cancelled checkout):
        the answer the span is working on then already carries the decision."""
        if trace_id not in self._kept:
            self.keep(trace_id)
            if self.announce is not None:
                self.announce(trace_id)

    def is_kept(self, trace_id: str) -> bool:
        """Whether ``trace_id`` was kept by a rule other than the ratio."""
        return trace_id in self._kept

    def keep(self, trace_id: str) -> None:
        """Keep ``trace_id``: its held spans go on now, its later ones as they end."""
        if trace_id not in self._kept:
            self._kept[trace_id] = None
            if len(self._kept) > self.remembered:
                self._kept.popitem(last=False)
        held = self._held.pop(trace_id, None)
        if held is not None:
            for line in held.split(b"\n"):
                self._count -= 1
                self.inner.export(_record(orjson.loads(line)))

    def _hold(self, trace_id: str, span: SpanRecord) -> None:
        self._hold_line(trace_id, orjson.dumps(tuple(span)))  # (orjson takes no tuple subclasses)

    def _hold_line(self, trace_id: str, line: bytes) -> None:
        now = time.time_ns()
        held = self._held.get(trace_id)
        if held is None:
            self._held[trace_id] = line
            self._order.append((now, trace_id))
        else:
            self._held[trace_id] = held + b"\n" + line
        self._count += 1
        self._expire(now)

    def _expire(self, now: int) -> None:
        order, cutoff = self._order, now - self.hold_ns
        while order and (order[0][0] < cutoff or self._count > self.max_held):
            _, trace_id = order.popleft()
            held = self._held.pop(trace_id, None)
            if held is not None:
                spans = held.count(b"\n") + 1
                self._count -= spans
                self.dropped += spans

    @property
    def held(self) -> int:
        return self._count

    def flush(self, timeout: float = 5.0) -> None:
        self.inner.flush(timeout)

    def shutdown(self) -> None:
        self.inner.shutdown()

    async def aclose(self) -> None:
        await self.inner.aclose()


def _record(fields: list[Any]) -> SpanRecord:
    """A held span back from its JSON (lists become the tuples a record has). A span held by
    :meth:`TailKeep.add` has its attributes as an object and its events' attributes as objects
    or null; one held as a record has them as lists of pairs."""
    return SpanRecord._make([*fields[:9], _pairs(fields[9]), tuple(
        (at, name, _pairs(attrs)) for at, name, attrs in fields[10] or ())])


def _pairs(attributes: Any) -> tuple[tuple[str, Any], ...]:
    if not attributes:
        return ()
    if type(attributes) is dict:
        return tuple(attributes.items())
    return tuple(tuple(pair) for pair in attributes)


async def listen_for_keeps(tracing: Any, broker: Any) -> None:
    """Once ``broker`` is connected: hear other processes' keep decisions, and announce ours.
    Runs until cancelled (nats-py subscribes again by itself after a reconnect)."""
    tail = tracing.exporter
    if not isinstance(tail, TailKeep):
        return
    await broker.wait_connected(timeout=3600)
    nc = broker.nc

    async def heard(msg: Any) -> None:
        tail.keep(msg.data.decode("ascii", "replace"))

    outgoing: asyncio.Queue[str] = asyncio.Queue(maxsize=10_000)

    def announce(trace_id: str) -> None:
        if not outgoing.full():  # a storm of failures: the store's own rules still keep them
            outgoing.put_nowait(trace_id)

    sub = await nc.subscribe(KEEP_SUBJECT, cb=heard)
    tail.announce = announce
    try:
        while True:
            trace_id = await outgoing.get()
            with contextlib.suppress(Exception):  # NATS away: this one is not heard
                await nc.publish(KEEP_SUBJECT, trace_id.encode())
    finally:
        tail.announce = None
        with contextlib.suppress(Exception):
            await sub.unsubscribe()
