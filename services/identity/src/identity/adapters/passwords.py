"""argon2id password hashing (argon2-cffi) with OWASP's parameters, on a few worker threads.

OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1. One hash or verify takes tens
of milliseconds of CPU, so it runs off the event loop (argon2-cffi releases the GIL) and the
service keeps answering meanwhile.

Each hash in flight holds its ``m`` of memory, and glibc keeps a thread's freed 19 MiB block for
that thread's next hash instead of returning it. On asyncio's default executor (up to 32 threads,
cpu count + 4) a burst of logins therefore left ~19 MiB per thread resident for good: identity
grew by ~100 MiB under 8 concurrent logins. A pool of its own bounds that at ``workers`` times m
(``IDENTITY_PASSWORD_HASH_WORKERS``). Up to the cores the process may use, more workers hash
more logins per second; past them they only add memory, the work being CPU-bound. Logins beyond
the workers queue here, each waiting its turn.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["Argon2Hasher"]

_DUMMY_PASSWORD = "not the password of anyone"  # noqa: S105 - the point is that it matches nobody


class Argon2Hasher:
    """``await start()`` before use (it makes the dummy hash); ``close()`` at shutdown."""

    def __init__(self, *, time_cost: int = 2, memory_cost_kib: int = 19456,
                 parallelism: int = 1, workers: int = 1) -> None:
        self._hasher = argon2.PasswordHasher(time_cost=time_cost, memory_cost=memory_cost_kib,
                                             parallelism=parallelism, type=argon2.Type.ID)
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="argon2")
        self._dummy = ""

    async def start(self) -> None:
        # made with today's parameters, so verifying against it costs what a real verify costs;
        # made on a worker, so its memory is that worker's
        self._dummy = await self.hash(_DUMMY_PASSWORD)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def hash(self, password: str) -> str:
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._pool, self._hasher.verify, password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)

    @property
    def dummy_hash(self) -> str:
        if not self._dummy:
            raise RuntimeError("Argon2Hasher.start() was not awaited")
        return self._dummy
