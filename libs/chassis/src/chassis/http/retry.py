"""When to try an upstream call again, and how long to wait first.

Retries multiply load exactly when a service is least able to take it, so three limits apply:

* only idempotent methods are retried once the request may have been sent (a refused connection
  was never sent, so any method may go elsewhere);
* full-jitter exponential backoff (AWS Architecture Blog, "Exponential Backoff And Jitter"), so
  clients that failed together do not come back together;
* a retry budget per service (Finagle, Envoy ``retry_budget``, Google SRE book ch. 22): over a
  rolling window, retries may add at most ``ratio`` of the requests — or a small floor, so a
  quiet service can still retry at all. The floor is not added on top: under a storm the
  upstream sees at most ``1 + ratio`` times the calls it is asked for;
* a 503 that says when to come back (``Retry-After``) is an overloaded upstream shedding load:
  it is not retried at once (:func:`retryable`), nor by the caller's caller.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

__all__ = ["IDEMPOTENT_METHODS", "RETRYABLE_STATUSES", "RetryBudget", "backoff", "retryable", "sheds"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRYABLE_STATUSES = frozenset({502, 503, 504})


def sheds(status: int, retry_after: bool) -> bool:
    """Whether an answer is an upstream shedding load: a 503 with ``Retry-After`` (RFC 9110
    §15.6.4). Busy, not failing: no breaker failure, no ejection, no retry at once."""
    return status == 503 and retry_after


def retryable(status: int, retry_after: bool) -> bool:
    """Whether an answer with ``status`` may be tried again: a 502/503/504, but not a 503 with
    ``Retry-After`` (the upstream is shedding load and said when to come back)."""
    return status in RETRYABLE_STATUSES and not sheds(status, retry_after)


def backoff(retry: int, *, base: float = 0.05, cap: float = 1.0,
            rand: Callable[[], float] = random.random) -> float:
    """Seconds to wait before retry number ``retry`` (1 for the first): uniform in
    ``[0, min(cap, base * 2 ** (retry - 1))]``."""
    return rand() * min(cap, base * 2.0 ** (retry - 1))


class RetryBudget:
    """Requests and retries counted in one-second buckets over ``window`` seconds; a retry is
    allowed while ``retries < max(min_retries, ratio * requests)``.

    Counting a request is O(1) and allocates nothing; only a retry sums the buckets.
    """

    def __init__(self, *, ratio: float = 0.2, min_retries: int = 10, window: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ratio = ratio
        self.min_retries = min_retries
        self._size = max(1, round(window))
        self._bucket_seconds = window / self._size
        self._clock = clock
        self._requests = [0] * self._size
        self._retries = [0] * self._size
        self._epochs = [-1] * self._size  # which time slot each bucket currently counts
        # the bucket of the current slot and when that slot ends: a request within it is
        # counted with one clock read and no arithmetic
        self._index = 0
        self._until = -1.0

    def _bucket(self) -> int:
        now = self._clock()
        epoch = int(now / self._bucket_seconds)
        index = epoch % self._size
        if self._epochs[index] != epoch:  # a stale bucket from a previous turn of the ring
            self._epochs[index] = epoch
            self._requests[index] = self._retries[index] = 0
        self._index = index
        self._until = (epoch + 1) * self._bucket_seconds
        return index

    def request(self) -> None:
        """Count one request (its first attempt)."""
        if self._clock() < self._until:
            self._requests[self._index] += 1
        else:
            self._requests[self._bucket()] += 1

    def try_retry(self) -> bool:
        """Spend one retry if the budget allows it."""
        index = self._bucket()
        oldest = self._epochs[index] - self._size
        requests = retries = 0
        for i in range(self._size):
            if self._epochs[i] > oldest:
                requests += self._requests[i]
                retries += self._retries[i]
        if retries >= max(self.min_retries, self.ratio * requests):
            return False
        self._retries[index] += 1
        return True
