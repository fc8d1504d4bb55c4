"""Tail-style keep rules: once a trace has settled, keep it only if a developer would look for it.

A trace is kept for the first of these reasons that holds, in this order of priority:

* ``error`` — a span has status ERROR;
* ``keep-flag`` — a span carries the attribute ``souk.keep`` = true (services set it on a failed or
  cancelled checkout, which may end without any span in error);
* ``slow`` — from its earliest start to its latest end the trace lasted at least ``slow_ms``;
* ``sampled`` — its trace id falls within ``keep_ratio``: the low 64 bits of the id, read as an
  unsigned integer, are below ``round(keep_ratio * 2**64)``. That is the rule of OpenTelemetry's
  ``TraceIdRatioBased`` sampler, so any component deciding by the same ratio keeps the same traces.

Anything else is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ERROR", "KEEP_ATTRIBUTE", "KEEP_FLAG", "REASONS", "SAMPLED", "SLOW", "KeepBudget",
           "KeepRules", "TraceFacts", "in_ratio", "ratio_bound"]

ERROR = "error"
KEEP_FLAG = "keep-flag"
SLOW = "slow"
SAMPLED = "sampled"
REASONS = (ERROR, KEEP_FLAG, SLOW, SAMPLED)  # by priority: the first that holds is the reason
KEEP_ATTRIBUTE = "souk.keep"
_SPACE = 1 << 64


def ratio_bound(ratio: float) -> int:
    """The exclusive upper bound of the low 64 bits of the trace ids that ``ratio`` keeps."""
    if not 0 <= ratio <= 1:
        raise ValueError(f"a keep ratio is between 0 and 1, not {ratio}")
    return round(ratio * _SPACE)


def in_ratio(trace_id: str, bound: int) -> bool:
    """Whether a (valid, lower-case hex) trace id falls below ``bound`` (see ``ratio_bound``)."""
    return int(trace_id[16:], 16) < bound


@dataclass(slots=True)
class TraceFacts:
    """What the rules read of a trace: gathered span by span as spans arrive."""

    trace_id: str
    start_ns: int
    end_ns: int
    error: bool = False
    keep: bool = False


@dataclass(frozen=True, slots=True)
class KeepRules:
    """The rules above, with their two parameters."""

    keep_ratio: float
    slow_ms: float
    _bound: int = field(init=False, repr=False)
    _slow_ns: int = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.slow_ms > 0:
            raise ValueError(f"slow_ms must be positive, not {self.slow_ms}")
        object.__setattr__(self, "_bound", ratio_bound(self.keep_ratio))
        object.__setattr__(self, "_slow_ns", round(self.slow_ms * 1e6))

    def reason(self, trace: TraceFacts) -> str | None:
        """Why ``trace`` is kept (one of ``REASONS``), or None when it is dropped."""
        if trace.error:
            return ERROR
        if trace.keep:
            return KEEP_FLAG
        if trace.end_ns - trace.start_ns >= self._slow_ns:
            return SLOW
        if in_ratio(trace.trace_id, self._bound):
            return SAMPLED
        return None


class KeepBudget:
    """At most ``per_second`` kept traces a second on average (a token bucket holding one second's
    worth, so a quiet second does not buy a burst of many). ``per_second`` 0: no limit.

    Callers spend it in priority order (errors first), so under a storm of failures the store
    fills with failures rather than with sampled healthy traces.
    """

    def __init__(self, per_second: float, now: float) -> None:
        if per_second < 0:
            raise ValueError("per_second must be 0 (no limit) or positive")
        self._rate = per_second
        self._tokens = per_second
        self._at = now

    def take(self, wanted: int, now: float) -> int:
        """How many of ``wanted`` traces may be kept now (and spend that many)."""
        if not self._rate:
            return wanted
        self._tokens = min(self._rate, self._tokens + max(0.0, now - self._at) * self._rate)
        self._at = now
        granted = min(wanted, int(self._tokens))
        self._tokens -= granted
        return granted
