"""The argon2id hasher (adapters/passwords.py), for real: no database, no sockets."""

from __future__ import annotations

import asyncio

import pytest

from identity.adapters.passwords import Argon2Hasher

pytestmark = pytest.mark.unit

OWASP_PREFIX = "$argon2id$v=19$m=19456,t=2,p=1$"


async def test_hashes_with_argon2id_and_owasps_parameters() -> None:
    hasher = Argon2Hasher()
    await hasher.start()
    try:
        stored = await hasher.hash("correct horse battery staple")
        assert stored.startswith(OWASP_PREFIX)
        assert await hasher.verify(stored, "correct horse battery staple")
        assert not await hasher.verify(stored, "Correct horse battery staple")
        assert not await hasher.verify("not a hash", "anything")
        assert not hasher.needs_rehash(stored)
        assert Argon2Hasher(time_cost=3).needs_rehash(stored)
        # the dummy hash costs a real verify: same parameters
        assert hasher.dummy_hash.startswith(OWASP_PREFIX)
        assert not await hasher.verify(hasher.dummy_hash, "anything")
    finally:
        hasher.close()


async def test_concurrent_hashes_queue_for_the_workers_and_all_complete() -> None:
    hasher = Argon2Hasher(workers=1)
    try:
        stored = await asyncio.gather(*(hasher.hash(f"password {n}") for n in range(3)))
        assert [await hasher.verify(h, f"password {n}") for n, h in enumerate(stored)] == [
            True, True, True]
    finally:
        hasher.close()


async def test_there_is_no_dummy_hash_before_start() -> None:
    hasher = Argon2Hasher()
    with pytest.raises(RuntimeError, match="start"):
        _ = hasher.dummy_hash
    hasher.close()
