"""Rate limits at the edge: the second request filter, token buckets per key.

Each route names a limit class (``default`` or ``login``), each class one or more limits in the
``limits`` notation (``"6000/minute"``, ``"10/second;100/minute"``). A limit is a token bucket:
``amount`` tokens, refilled evenly over the period, one token per call, so a client may burst up to
the amount and then goes at the average rate. The key is the verified user for an authenticated
call and the client address (the socket peer, never a header) otherwise; ``login`` always counts
per address, since whoever guesses passwords has no token yet. Past the limit the answer is 429
``gateway/rate-limited`` with ``Retry-After`` (when the next token is due) and ``RateLimit-*``
headers.

Buckets live in memory (one gateway instance: a dict of two floats per key, no lock, no library
call) or, with ``redis_url``, in Redis, shared by every gateway instance: one Lua script per check
(:mod:`gateway.redis_bucket`). When Redis fails, the gateway does not answer 500 and does not stop
serving: it logs a warning, counts ``souk_gateway_rate_limit_storage_errors_total`` and limits with
its local buckets for ``fallback_seconds`` before it tries Redis again (fail open on the shared
limit, not on all of them: each instance still enforces the limit alone).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import limits

from chassis.logging import get_logger
from chassis.problems import Problem
from gateway.filters import DEFER, _Deferred
from gateway.metrics import GatewayMetrics
from gateway.request import Request
from gateway.routes import RATE_LIMIT_CLASSES, Route

if TYPE_CHECKING:
    import aiohttp

    from gateway.proxy import DiscoveryLike
    from gateway.redis_bucket import RedisBuckets

__all__ = ["Limit", "LocalBuckets", "RateLimits", "parse_limits", "rate_limit_key"]

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Limit:
    """``amount`` calls per ``period`` seconds."""

    amount: int
    period: float
    rate: float = field(init=False, compare=False)  # tokens per second

    def __post_init__(self) -> None:
        object.__setattr__(self, "rate", self.amount / self.period)


def parse_limits(text: str) -> tuple[Limit, ...]:
    """``"10/second;100/minute"`` → limits (the ``limits`` library's notation and parser)."""
    return tuple(Limit(item.amount, float(item.get_expiry())) for item in limits.parse_many(text))


def rate_limit_key(route: Route, request: Request) -> str:
    """Whom a call counts against: ``u:<subject>`` or ``a:<client address>``."""
    if route.limit_class(request.method) != "login" and request.user is not None:
        return "u:" + request.user
    return "a:" + (request.client or "unknown")


class LocalBuckets:
    """Token buckets in this process: key → [tokens, last refill time]. Full buckets are
    dropped now and then (a full bucket and no bucket are the same), so memory follows the
    active keys."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[tuple[str, int, str], list[float]] = {}
        self._next_sweep = clock() + 60.0

    def take(self, cls: str, index: int, limit: Limit, key: str) -> float:
        """Take a token: 0.0 when granted, else seconds until one is due."""
        now = self._clock()
        slot = (cls, index, key)
        bucket = self._buckets.get(slot)
        if bucket is None:
            if now >= self._next_sweep:
                self._sweep(now)
            self._buckets[slot] = [limit.amount - 1.0, now, limit.period]
            return 0.0
        tokens = bucket[0] + (now - bucket[1]) * limit.rate
        if tokens > limit.amount:
            tokens = float(limit.amount)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return 0.0
        bucket[0] = tokens
        return (1.0 - tokens) / limit.rate

    def _sweep(self, now: float) -> None:
        self._next_sweep = now + 60.0
        full = [slot for slot, (_, last, period) in self._buckets.items() if now - last >= period]
        for slot in full:
            del self._buckets[slot]


class RateLimits:
    """The rate-limit filter; the shared storage is opened in :meth:`start`, closed in
    :meth:`close`."""

    def __init__(self, limits_by_class: Mapping[str, str], metrics: GatewayMetrics, *,
                 redis_url: str = "", key_prefix: str = "souk-gateway",
                 fallback_seconds: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.set_limits(limits_by_class)
        self._metrics = metrics
        self._redis_url = redis_url
        self._key_prefix = key_prefix
        self._fallback_seconds = fallback_seconds
        self._clock = clock
        self._local = LocalBuckets(clock)
        self._shared: RedisBuckets | None = None
        self._shared_down_until = 0.0

    def set_limits(self, limits_by_class: Mapping[str, str]) -> None:
        """Limit by these from the next call on (a live change: a bucket fuller than a new,
        lower amount is cut down to it at its next take)."""
        self._limits = {cls: tuple(enumerate(parse_limits(limits_by_class[cls])))
                        for cls in RATE_LIMIT_CLASSES}

    async def start(self, session: aiohttp.ClientSession, discovery: DiscoveryLike) -> None:
        if not self._redis_url or self._shared is not None:
            return
        from gateway.redis_bucket import RedisBuckets

        self._shared = RedisBuckets(self._redis_url, self._key_prefix)

    async def close(self) -> None:
        shared, self._shared = self._shared, None
        if shared is not None:
            await shared.close()

    async def __call__(self, route: Route, request: Request) -> Problem | None:
        cls = route.limit_class(request.method)
        key = rate_limit_key(route, request)
        shared = self._shared
        for index, limit in self._limits[cls]:
            if shared is not None and self._clock() >= self._shared_down_until:
                try:
                    wait = await shared.take(cls, index, limit, key)
                except Exception as exc:  # any storage failure: degrade, never a 500
                    self._shared_failed(exc)
                    wait = self._local.take(cls, index, limit, key)
            else:
                wait = self._local.take(cls, index, limit, key)
            if wait > 0.0:
                self._metrics.rate_limited.inc(cls)
                return _too_many(limit, cls, wait)
        return None

    def check(self, route: Route, request: Request) -> Problem | _Deferred | None:
        """Decide at once with the local buckets; :data:`DEFER` while Redis is in use."""
        if self._shared is not None and self._clock() >= self._shared_down_until:
            return DEFER
        cls = route.rate_limit
        if route.rate_limit_methods and request.method not in route.rate_limit_methods:
            cls = "default"  # Route.limit_class, inline: this runs on every request
        user = request.user  # rate_limit_key, inline too
        key = "u:" + user if cls != "login" and user is not None else rate_limit_key(route, request)
        take = self._local.take
        for index, limit in self._limits[cls]:
            wait = take(cls, index, limit, key)
            if wait > 0.0:
                self._metrics.rate_limited.inc(cls)
                return _too_many(limit, cls, wait)
        return None

    def _shared_failed(self, exc: Exception) -> None:
        self._metrics.rate_limit_storage_errors.inc()
        self._shared_down_until = self._clock() + self._fallback_seconds
        log.warning("rate-limit storage failed; limiting per instance for a while",
                    seconds=self._fallback_seconds, error=str(exc) or type(exc).__name__)


def _too_many(limit: Limit, cls: str, wait: float) -> Problem:
    retry_after = str(max(1, math.ceil(wait)))
    period = f"{limit.period:g}"
    return Problem(429, "gateway/rate-limited",
                   f"too many requests; at most {limit.amount} per {period} s ({cls})",
                   headers={"Retry-After": retry_after,
                            "RateLimit-Limit": str(limit.amount),
                            "RateLimit-Remaining": "0",
                            "RateLimit-Reset": retry_after,
                            "RateLimit-Policy": f"{limit.amount};w={period}"})
