"""Spans held per trace until the trace has settled, and the decisions taken on traces.

A *fragment* is what one export request holds of one trace (from one sender). The buffer gathers
fragments per trace and says which traces are due for a decision: those that received nothing for
``settle_seconds``, those held ``max_hold_seconds`` already (spans keep coming), and — when more
than ``max_spans`` spans are held — the traces that arrived first. Times are the caller's
monotonic clock in seconds, so the buffer is deterministic under test.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import OrderedDict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import count

from telemetry.domain.keep import KEEP_ATTRIBUTE, TraceFacts
from telemetry.domain.spans import Span

__all__ = ["Decisions", "Fragment", "HeldTrace", "SpanFragment", "TraceBuffer"]


@dataclass(slots=True, eq=False)
class Fragment(ABC):
    """Spans of one trace from one export request, with the facts the keep rules read. Decoders
    may postpone building the spans until ``spans()`` (only kept traces ever need them)."""

    trace_id: str
    start_ns: int  # earliest start of its spans
    end_ns: int  # latest end
    error: bool  # a span has status error
    keep: bool  # a span has souk.keep = true
    size: int  # spans

    @abstractmethod
    def spans(self) -> list[Span]: ...


@dataclass(slots=True, eq=False)
class SpanFragment(Fragment):
    """A fragment of spans already built (the protobuf decoder's, and the tests')."""

    items: list[Span]

    @classmethod
    def of(cls, spans: Sequence[Span]) -> SpanFragment:
        """The fragment of ``spans`` (at least one, all of one trace)."""
        return cls(trace_id=spans[0].trace_id, start_ns=min(s.start_ns for s in spans),
                   end_ns=max(s.end_ns for s in spans),
                   error=any(s.status == "error" for s in spans),
                   keep=any(s.attributes.get(KEEP_ATTRIBUTE) is True for s in spans),
                   size=len(spans), items=list(spans))

    def spans(self) -> list[Span]:
        return self.items


@dataclass(slots=True, kw_only=True)
class HeldTrace(TraceFacts):
    """A trace waiting for its decision: its facts so far and its fragments."""

    serial: int  # tells this holding of the trace from an earlier one (late spans)
    first_seen: float
    last_seen: float
    late: bool = False  # the trace was kept already: these spans extend the stored trace
    size: int = 0
    fragments: list[Fragment] = field(default_factory=list)

    def extend(self, fragment: Fragment) -> None:
        if fragment.start_ns < self.start_ns:
            self.start_ns = fragment.start_ns
        if fragment.end_ns > self.end_ns:
            self.end_ns = fragment.end_ns
        self.error = self.error or fragment.error
        self.keep = self.keep or fragment.keep
        self.size += fragment.size
        self.fragments.append(fragment)


class TraceBuffer:
    """Held traces, in two orders: by last arrival (who has settled) and by first arrival (who is
    held too long, who goes first when memory is short). ``spans`` is the number of spans held."""

    def __init__(self, *, settle_seconds: float, max_hold_seconds: float, max_spans: int) -> None:
        if not 0 < settle_seconds <= max_hold_seconds:
            raise ValueError("0 < settle_seconds <= max_hold_seconds")
        if max_spans < 1:
            raise ValueError("max_spans must be positive")
        self.settle_seconds = settle_seconds
        self.max_hold_seconds = max_hold_seconds
        self.max_spans = max_spans
        self.spans = 0
        self._held: OrderedDict[str, HeldTrace] = OrderedDict()  # least recently extended first
        # (first_seen, serial, trace id) in arrival order; entries of traces decided meanwhile
        # stay until they reach the front (cheaper than finding them), and hold no spans
        self._arrivals: deque[tuple[float, int, str]] = deque()
        self._serials = count()

    def __len__(self) -> int:
        return len(self._held)

    def __contains__(self, trace_id: object) -> bool:
        return trace_id in self._held

    @property
    def over_limit(self) -> bool:
        return self.spans > self.max_spans

    def add(self, fragment: Fragment, now: float, *, late: bool = False) -> None:
        """Hold ``fragment`` with the other spans of its trace (``late``: of a trace kept already)."""
        trace_id = fragment.trace_id
        held = self._held.get(trace_id)
        if held is None:
            serial = next(self._serials)
            held = HeldTrace(trace_id=trace_id, start_ns=fragment.start_ns,
                             end_ns=fragment.end_ns, serial=serial, first_seen=now,
                             last_seen=now, late=late)
            self._held[trace_id] = held
            self._arrivals.append((now, serial, trace_id))
        else:
            self._held.move_to_end(trace_id)
            held.last_seen = now
        held.extend(fragment)
        self.spans += fragment.size

    def take_due(self, now: float) -> list[HeldTrace]:
        """Remove and return the traces due for a decision at ``now``: settled, or held too long."""
        due: list[HeldTrace] = []
        settled_before = now - self.settle_seconds
        while self._held:
            trace = next(iter(self._held.values()))
            if trace.last_seen > settled_before:
                break
            self._held.popitem(last=False)
            due.append(trace)
        held_since = now - self.max_hold_seconds
        while self._arrivals and self._arrivals[0][0] <= held_since:
            if (long_held := self._pop_arrival()) is not None:
                due.append(long_held)
        self.spans -= sum(t.size for t in due)
        return due

    def take_oldest(self) -> list[HeldTrace]:
        """Remove and return the traces that arrived first, until no more than ``max_spans`` spans
        are held."""
        taken: list[HeldTrace] = []
        while self.spans > self.max_spans and self._arrivals:
            if (trace := self._pop_arrival()) is not None:
                taken.append(trace)
                self.spans -= trace.size
        return taken

    def take_all(self) -> list[HeldTrace]:
        """Remove and return every held trace (shutting down)."""
        traces = list(self._held.values())
        self._held.clear()
        self._arrivals.clear()
        self.spans = 0
        return traces

    def _pop_arrival(self) -> HeldTrace | None:
        _, serial, trace_id = self._arrivals.popleft()
        trace = self._held.get(trace_id)
        if trace is None or trace.serial != serial:
            return None  # decided meanwhile (and maybe held again since, as late spans)
        del self._held[trace_id]
        return trace


class Decisions:
    """The last ``capacity`` decisions (trace id → kept), least recently used forgotten first:
    late spans follow the decision taken on their trace."""

    def __init__(self, capacity: int) -> None:
        if capacity < 0:
            raise ValueError("capacity must not be negative")
        self.capacity = capacity
        self._kept: OrderedDict[str, bool] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, trace_id: str) -> bool | None:
        kept = self._kept.get(trace_id)
        if kept is not None:
            self._kept.move_to_end(trace_id)
        return kept

    def record(self, trace_id: str, kept: bool) -> None:
        if not self.capacity:
            return
        self._kept[trace_id] = kept
        self._kept.move_to_end(trace_id)
        if len(self._kept) > self.capacity:
            self._kept.popitem(last=False)
