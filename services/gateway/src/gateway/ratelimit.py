"""Rate limits at the edge: the second request filter, with the ``limits`` library.

Each route names a limit class (``default`` or ``login``). The key is the verified user for an
authenticated call and the client address (the socket peer, never a header) otherwise; ``login``
always counts per address, since whoever guesses passwords has no token yet. Past the limit the
answer is 429 ``gateway/rate-limited`` with ``Retry-After`` and ``RateLimit-*`` headers.

Counters live in memory (one gateway instance) or, with ``redis_url``, in Redis, shared by every
gateway instance. The strategy is the sliding window counter: two counters per key, one round
trip per check, and no burst at a window boundary.

When Redis fails, the gateway does not answer 500 and does not stop serving: it logs a warning,
counts ``souk_gateway_rate_limit_storage_errors_total`` and limits with its local counters for
``fallback_seconds`` before it tries Redis again (fail open on the shared limit, not on all of
them: each instance still enforces the limit alone).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp
import limits
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import RateLimiter, SlidingWindowCounterRateLimiter

from chassis.logging import get_logger
from chassis.problems import Problem
from gateway.asgi import Scope
from gateway.filters import USER
from gateway.metrics import GatewayMetrics
from gateway.proxy import DiscoveryLike
from gateway.routes import RATE_LIMIT_CLASSES, Route

__all__ = ["RateLimits", "rate_limit_key"]

log = get_logger(__name__)

_REDIS_TIMEOUT = 0.25  # seconds; a slow Redis must not become a slow gateway


def rate_limit_key(route: Route, scope: Scope) -> str:
    """Whom a call counts against: ``u:<subject>`` or ``a:<client address>``."""
    if route.rate_limit != "login":
        user: str | None = scope.get(USER)
        if user is not None:
            return "u:" + user
    client = scope.get("client")
    return "a:" + (str(client[0]) if client else "unknown")


class RateLimits:
    """The rate-limit filter; storage is opened in :meth:`start` and closed in :meth:`close`."""

    def __init__(self, limits_by_class: Mapping[str, str], metrics: GatewayMetrics, *,
                 redis_url: str = "", key_prefix: str = "souk-gateway",
                 fallback_seconds: float = 5.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._items = {cls: tuple(limits.parse_many(limits_by_class[cls]))
                       for cls in RATE_LIMIT_CLASSES}
        self._metrics = metrics
        self._redis_url = redis_url
        self._key_prefix = key_prefix
        self._fallback_seconds = fallback_seconds
        self._clock = clock
        self._local: RateLimiter = SlidingWindowCounterRateLimiter(MemoryStorage())
        self._shared: RateLimiter | None = None
        self._pool: Any = None
        self._shared_down_until = 0.0

    async def start(self, session: aiohttp.ClientSession, discovery: DiscoveryLike) -> None:
        if not self._redis_url or self._shared is not None:
            return
        import redis.asyncio

        # our own pool, with short timeouts, so that close() can release it
        self._pool = redis.asyncio.ConnectionPool.from_url(
            self._redis_url, socket_connect_timeout=_REDIS_TIMEOUT, socket_timeout=_REDIS_TIMEOUT)
        options: dict[str, Any] = {"connection_pool": self._pool}
        storage = RedisStorage("async+" + self._redis_url, implementation="redispy",
                               key_prefix=self._key_prefix, **options)
        self._shared = SlidingWindowCounterRateLimiter(storage)

    async def close(self) -> None:
        self._shared = None
        if self._pool is not None:
            await self._pool.disconnect()
            self._pool = None

    async def __call__(self, route: Route, scope: Scope) -> Problem | None:
        cls = route.rate_limit
        key = rate_limit_key(route, scope)
        for item in self._items[cls]:
            limiter = await self._hit(item, cls, key)
            if limiter is not None:
                self._metrics.rate_limited.labels(cls).inc()
                return await _too_many(limiter, item, cls, key)
        return None

    async def _hit(self, item: limits.RateLimitItem, cls: str, key: str) -> RateLimiter | None:
        """None when the call is within the limit, else the limiter that refused it."""
        shared = self._shared
        if shared is not None and self._clock() >= self._shared_down_until:
            try:
                return None if await shared.hit(item, cls, key) else shared
            except Exception as exc:  # any storage failure: degrade, never a 500
                self._shared_failed(exc)
        return None if await self._local.hit(item, cls, key) else self._local

    def _shared_failed(self, exc: Exception) -> None:
        self._metrics.rate_limit_storage_errors.inc()
        self._shared_down_until = self._clock() + self._fallback_seconds
        log.warning("rate-limit storage failed; limiting per instance for a while",
                    seconds=self._fallback_seconds, error=str(exc) or type(exc).__name__)


async def _too_many(limiter: RateLimiter, item: limits.RateLimitItem, cls: str,
                    key: str) -> Problem:
    try:
        stats = await limiter.get_window_stats(item, cls, key)
        reset, remaining = stats.reset_time - time.time(), stats.remaining
    except Exception:  # the storage failed between the two calls: a safe guess
        reset, remaining = float(item.get_expiry()), 0
    retry_after = str(max(1, math.ceil(reset)))
    return Problem(429, "gateway/rate-limited",
                   f"too many requests; at most {item.amount} per "
                   f"{item.get_expiry()} s ({cls})",
                   headers={"Retry-After": retry_after,
                            "RateLimit-Limit": str(item.amount),
                            "RateLimit-Remaining": str(remaining),
                            "RateLimit-Reset": retry_after,
                            "RateLimit-Policy": f"{item.amount};w={item.get_expiry()}"})
