"""Admission control: a bound on the requests a service works on at once, shed by priority.

Past the bound a request is refused at once with 503 ``overloaded`` and ``Retry-After`` — never
queued: a queue only turns overload into latency for everyone (Little's law: at a fixed
throughput, more requests waiting is proportionally more time in the system). The cheapest work
goes first: each priority is admitted only while fewer than its share of the limit are in flight,
so browsing is refused while there is still room for orders, and orders while there is still
room for the internal calls that finish work already accepted (Google SRE book ch. 21,
"criticality"). Probes and scrapes are never shed.

A route declares its priority once, in its declaration (``@router.post(...,
priority=Priority.ORDER)``); by default a read (GET/HEAD) is :attr:`Priority.READ` and anything
else :attr:`Priority.ORDER`.
"""

from __future__ import annotations

import math
from enum import IntEnum

__all__ = ["SHARES", "Admission", "Priority"]


class Priority(IntEnum):
    """What a route's work is worth when the service is saturated (higher is shed later)."""

    READ = 0  # browsing: reads anyone can repeat
    ORDER = 1  # new work a user asked for (placing an order)
    INTERNAL = 2  # calls that continue work already accepted (a saga's steps)
    EXEMPT = 3  # health, readiness, metrics: never shed


# the share of the limit below which each priority is admitted
SHARES = {Priority.READ: 0.5, Priority.ORDER: 0.8, Priority.INTERNAL: 1.0}


class Admission:
    """Requests in flight against a limit; :meth:`enter` admits or refuses, :meth:`leave` frees.

    Synchronous and O(1): one compare and one add per request (the event loop is the lock).
    """

    __slots__ = ("_bounds", "in_flight", "limit", "shed")

    def __init__(self, limit: int) -> None:
        self.in_flight = 0
        self.shed = 0  # requests refused since start
        self.limit = 0
        self._bounds: tuple[int, ...] = ()
        self.set_limit(limit)

    def set_limit(self, limit: int) -> None:
        """Change the limit at run time (0 turns admission control off). Requests in flight stay;
        new ones are judged against the new limit."""
        if limit < 0:
            raise ValueError("the concurrency limit cannot be negative")
        self.limit = limit
        unbounded = 1 << 62
        self._bounds = tuple(
            unbounded if limit == 0 or priority is Priority.EXEMPT
            else max(1, math.floor(limit * SHARES[priority])) for priority in Priority)

    def enter(self, priority: Priority) -> bool:
        """Admit one request of ``priority`` (then :meth:`leave` once it is answered), or
        refuse it."""
        if self.in_flight >= self._bounds[priority]:
            self.shed += 1
            return False
        self.in_flight += 1
        return True

    def leave(self) -> None:
        self.in_flight -= 1
