"""The lock a consumer's filter is widened under (``SOUK_LOCKS``): a bucket just made on a
cluster answers "no responders" until its leader is elected, which is waited for like a taken
lock, and bounded the same way."""

from __future__ import annotations

from typing import Any

import pytest
from nats.errors import NoRespondersError
from nats.js.errors import KeyWrongLastSequenceError, NoStreamResponseError

from chassis.messaging.streams import consumer_lock

pytestmark = pytest.mark.unit


class _Bucket:
    """A key-value bucket whose first ``failures`` creates raise ``error``."""

    def __init__(self, failures: int, error: type[Exception]) -> None:
        self.failures = failures
        self.error = error
        self.created: list[str] = []
        self.deleted: list[str] = []

    async def create(self, key: str, value: bytes) -> int:
        if self.failures:
            self.failures -= 1
            raise self.error()
        self.created.append(key)
        return 1

    async def delete(self, key: str) -> bool:
        self.deleted.append(key)
        return True


class _JetStream:
    def __init__(self, bucket: _Bucket) -> None:
        self.bucket = bucket

    async def create_key_value(self, config: Any) -> _Bucket:
        return self.bucket


# what a key-value create on a real client raises is NoStreamResponseError (a JetStream publish
# turns "no responders" into it): only NoRespondersError was waited for, and the cluster test
# failed whenever the bucket's leader was still being elected
@pytest.mark.parametrize("error", [NoStreamResponseError, NoRespondersError])
async def test_a_bucket_without_a_leader_yet_is_waited_for(error: type[Exception]) -> None:
    bucket = _Bucket(3, error)
    async with consumer_lock(_JetStream(bucket), "orders", replicas=3):
        assert bucket.created == ["orders"]
        assert bucket.deleted == []
    assert bucket.failures == 0
    assert bucket.deleted == ["orders"]


@pytest.mark.parametrize(("error", "message"), [
    (NoRespondersError, "the bucket SOUK_LOCKS has no leader"),
    (NoStreamResponseError, "the bucket SOUK_LOCKS has no leader"),
    (KeyWrongLastSequenceError, "the lock of consumer orders stayed taken"),
])
async def test_waiting_gives_up_after_the_lock_s_lifetime(error: type[Exception],
                                                          message: str) -> None:
    bucket = _Bucket(10_000, error)
    with pytest.raises(TimeoutError, match=message):
        # gives up 5 s after the lock's lifetime: a lifetime of -4.9 s makes that 0.1 s
        async with consumer_lock(_JetStream(bucket), "orders", seconds=-4.9):
            pass  # pragma: no cover - never taken
    assert bucket.created == []
    assert bucket.deleted == []
