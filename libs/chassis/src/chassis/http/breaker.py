"""A circuit breaker per upstream service, over a rolling window of its last calls.

Shared by the gateway's proxy and :class:`chassis.http.ServiceClient`: one implementation.

* **closed** — calls flow; each outcome enters a window of the last ``window`` calls. Once it holds
  at least ``min_calls``, the breaker opens when the failure ratio (connection errors, timeouts,
  5xx) or the slow-call ratio (calls over ``slow_seconds``) reaches its threshold.
* **open** — calls fail fast for ``open_seconds`` (the gateway answers 503
  ``gateway/circuit-open``, the service client raises :class:`~chassis.http.CircuitOpen`), so a
  struggling service gets room to recover instead of more load.
* **half-open** — then up to ``probes`` calls go through; as many successes close the breaker
  (with an empty window), one failure opens it again.

A call whose answer waited on purpose (``Preference-Applied: wait``, :func:`waited_on_purpose`)
is recorded by its callers as not slow, however long it took.

Every state change starts a new generation, and :meth:`~CircuitBreaker.allow` hands each call it
admits the generation as a ticket: an outcome counts only in the generation that admitted its
call, so a slow call let through while the breaker was closed cannot close (or reopen) it in
half-open — only the probes decide — nor weigh in a window that a close emptied.

The clock is injected, so the state machine is tested without sleeping.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import InitVar, dataclass, field
from enum import IntEnum

__all__ = ["BreakerState", "CircuitBreaker", "waited_on_purpose"]


def waited_on_purpose(preference_applied: str | bytes | None) -> bool:
    """Whether an answer's ``Preference-Applied`` says it waited because it was asked to (RFC
    7240 ``wait``: a long poll, ``Prefer: wait=N``): its time is the caller's wait, not the
    service's slowness, so it is no slow call. A checkout waited on while the services behind
    orders were restarted took seconds, and its probe kept the edge's breaker on orders open."""
    if preference_applied is None:
        return False
    value = preference_applied.decode("latin-1") if isinstance(preference_applied, bytes) \
        else preference_applied
    return any(part.partition("=")[0].strip().lower() == "wait" for part in value.split(","))


class BreakerState(IntEnum):
    """The state, as its metric value too (0 closed, 1 half-open, 2 open)."""

    CLOSED = 0
    HALF_OPEN = 1
    OPEN = 2


# module constants: an enum member looked up on its class costs more than the check itself
_CLOSED, _HALF_OPEN, _OPEN = BreakerState.CLOSED, BreakerState.HALF_OPEN, BreakerState.OPEN


@dataclass(slots=True, eq=False, kw_only=True)
class CircuitBreaker:
    """One service's breaker. ``ticket = allow()`` before a call (None: refused);
    ``record(ticket, ...)`` or ``release(ticket)`` after it, always."""

    window: int = 50
    min_calls: int = 20  # at most ``window``
    failure_ratio: float = 0.5
    slow_ratio: float = 0.8
    slow_seconds: float = 5.0
    open_seconds: float = 5.0
    probes: int = 2
    clock: InitVar[Callable[[], float]] = time.monotonic
    _clock: Callable[[], float] = field(init=False, repr=False)
    state: BreakerState = field(init=False, default=BreakerState.CLOSED)
    # (failed, slow), oldest first
    _calls: deque[tuple[bool, bool]] = field(init=False, repr=False, default_factory=deque)
    _failures: int = field(init=False, default=0)
    _slow: int = field(init=False, default=0)
    _opened_at: float = field(init=False, repr=False, default=0.0)
    _probing: int = field(init=False, default=0)  # half-open calls admitted, not yet recorded
    _probe_successes: int = field(init=False, default=0)
    _generation: int = field(init=False, default=1)  # a ticket is never 0: tickets are truthy

    def __post_init__(self, clock: Callable[[], float]) -> None:
        self.min_calls = min(self.min_calls, self.window)
        self._clock = clock

    def allow(self) -> int | None:
        """The ticket of a call that may go to the service now, or None; a ticket in half-open
        admits a probe."""
        if self.state is _CLOSED:
            return self._generation
        if self.state is _OPEN:
            if self._clock() - self._opened_at < self.open_seconds:
                return None
            self._enter(_HALF_OPEN)
            self._probing = self._probe_successes = 0
        if self._probing + self._probe_successes >= self.probes:
            return None
        self._probing += 1
        return self._generation

    def retry_after(self) -> float:
        """Seconds until the breaker lets a probe through (0 unless open)."""
        if self.state is not _OPEN:
            return 0.0
        return max(0.0, self.open_seconds - (self._clock() - self._opened_at))

    def record(self, ticket: int, *, failed: bool, seconds: float) -> None:
        """The outcome of a call that :meth:`allow` admitted with ``ticket``."""
        if ticket != self._generation:
            return  # admitted in another state: its outcome is old news
        slow = seconds >= self.slow_seconds
        if (not failed and not slow and not self._failures and not self._slow
                and self.state is _CLOSED and len(self._calls) >= self.window):
            return  # a full window of good calls stays one: nothing to count or drop
        if self.state is _HALF_OPEN:
            self._probing = max(0, self._probing - 1)
            if failed or slow:
                self._open()
            else:
                self._probe_successes += 1
                if self._probe_successes >= self.probes:
                    self._close()
            return
        calls = self._calls
        calls.append((failed, slow))
        self._failures += failed
        self._slow += slow
        if len(calls) > self.window:
            old_failed, old_slow = calls.popleft()
            self._failures -= old_failed
            self._slow -= old_slow
        count = len(calls)
        if count >= self.min_calls and (self._failures >= self.failure_ratio * count
                                        or self._slow >= self.slow_ratio * count):
            self._open()

    def release(self, ticket: int) -> None:
        """An admitted call ended with no verdict (the client went away): free its probe slot."""
        if self.state is _HALF_OPEN and ticket == self._generation:
            self._probing = max(0, self._probing - 1)

    def _enter(self, state: BreakerState) -> None:
        self.state = state
        self._generation += 1

    def _open(self) -> None:
        self._enter(_OPEN)
        self._opened_at = self._clock()
        self._probing = self._probe_successes = 0

    def _close(self) -> None:
        self._enter(_CLOSED)
        self._calls.clear()
        self._failures = self._slow = 0
