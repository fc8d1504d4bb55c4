"""A bulkhead: at most ``limit`` calls in flight to one upstream from this process.

A slow upstream otherwise soaks up every connection and every waiting task of its callers; with a
bulkhead the excess fails at once (:class:`~chassis.http.BulkheadFull`) and the rest of the
service keeps working. No queue: waiting is what the bulkhead exists to prevent.
"""

from __future__ import annotations

__all__ = ["Bulkhead"]


class Bulkhead:
    """A counter, not a semaphore: ``try_acquire`` never waits."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("a bulkhead needs a limit of at least 1")
        self.limit = limit
        self.in_flight = 0

    def try_acquire(self) -> bool:
        if self.in_flight >= self.limit:
            return False
        self.in_flight += 1
        return True

    def release(self) -> None:
        self.in_flight = max(0, self.in_flight - 1)
