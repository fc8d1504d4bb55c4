"""argon2id password hashing (argon2-cffi) with OWASP's parameters, off the event loop.

OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1. One hash or verify takes tens
of milliseconds of CPU, so it runs in a worker thread (argon2-cffi releases the GIL) and the
service keeps answering meanwhile.
"""

from __future__ import annotations

import asyncio
from functools import cached_property

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

__all__ = ["Argon2Hasher"]


class Argon2Hasher:
    def __init__(self, *, time_cost: int = 2, memory_cost_kib: int = 19456,
                 parallelism: int = 1) -> None:
        self._hasher = argon2.PasswordHasher(time_cost=time_cost, memory_cost=memory_cost_kib,
                                             parallelism=parallelism, type=argon2.Type.ID)

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        try:
            return await asyncio.to_thread(self._hasher.verify, password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)

    @cached_property
    def dummy_hash(self) -> str:
        # made with today's parameters, so verifying against it costs what a real verify costs
        return self._hasher.hash("not the password of anyone")
