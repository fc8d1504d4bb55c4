"""Token buckets in Redis, shared by every gateway instance: one Lua script per check.

The script refills and takes a token atomically on the server, with the server's clock (``TIME``),
so gateways with skewed clocks still share one bucket; a bucket's key expires once it would be full
again, so idle keys cost nothing.
"""

from __future__ import annotations

from typing import Any

from gateway.ratelimit import Limit

__all__ = ["RedisBuckets"]

_TIMEOUT = 0.25  # seconds; a slow Redis must not become a slow gateway

# KEYS[1] bucket; ARGV: capacity, tokens per second, period (ms). Returns the wait in ms (0: granted)
_TAKE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then
  tokens = capacity
else
  tokens = math.min(capacity, tokens + math.max(0, now - ts) * rate)
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return wait
"""


class RedisBuckets:
    """Buckets under ``<prefix>:<class>:<limit index>:<key>`` in the Redis at ``url``."""

    def __init__(self, url: str, prefix: str) -> None:
        import redis.asyncio

        # our own pool, with short timeouts, so that close() can release it
        self._pool: Any = redis.asyncio.ConnectionPool.from_url(
            url, socket_connect_timeout=_TIMEOUT, socket_timeout=_TIMEOUT)
        self._client: Any = redis.asyncio.Redis(connection_pool=self._pool)
        self._script: Any = self._client.register_script(_TAKE)
        self._prefix = prefix

    async def take(self, cls: str, index: int, limit: Limit, key: str) -> float:
        """Take a token: 0.0 when granted, else seconds until one is due."""
        wait_ms = await self._script(keys=[f"{self._prefix}:{cls}:{index}:{key}"],
                                     args=[limit.amount, repr(limit.rate),
                                           int(limit.period * 1000) + 1000])
        return int(wait_ms) / 1000.0

    async def close(self) -> None:
        await self._client.aclose()
        await self._pool.disconnect()
