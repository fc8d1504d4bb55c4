"""The two streams every service may create (idempotently) and the durable consumers."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from nats.errors import NoRespondersError
from nats.js import api
from nats.js.errors import (
    BadRequestError,
    KeyWrongLastSequenceError,
    NoStreamResponseError,
    NotFoundError,
)

from chassis.broker import ensure_bucket
from chassis.logging import get_logger
from chassis.messaging.envelope import (
    DLQ_PREFIX,
    DLQ_STREAM,
    STREAM,
    SUBJECT_PREFIX,
    subject_of_type,
)

__all__ = ["StreamLimits", "consumer_lock", "ensure_consumer", "ensure_streams", "filter_of"]

log = get_logger(__name__)

DUPLICATE_WINDOW = 120.0  # seconds JetStream remembers a Nats-Msg-Id
_DAY = 86_400.0
# A key-value bucket of locks: a consumer's filter is read, widened and written under its key.
# A lock its holder never released (it died) is forgotten after LOCK_SECONDS; waiting for one
# gives up after a little longer (the caller tries again later).
LOCKS_BUCKET = "SOUK_LOCKS"
LOCK_SECONDS = 15.0


@dataclass(frozen=True, slots=True)
class StreamLimits:
    """How much the streams keep (the settings ``stream_max_age``, ``stream_max_bytes`` and
    ``dlq_max_bytes``), and on how many broker nodes (``stream_replicas``: the streams, the
    durable consumers, which inherit it, and the key-value bucket of locks).

    Both streams discard *new* messages at their byte limit: JetStream refuses the publish, the
    row stays in its outbox and the relay retries it, so nothing accepted is dropped to make
    room. ``SOUK`` also forgets messages older than ``max_age``, consumed or not; ``SOUK_DLQ``
    has no age limit, its messages wait for an operator."""

    max_age: float = 7 * _DAY
    max_bytes: int = 1 << 30
    dlq_max_bytes: int = 128 << 20
    replicas: int = 1


async def ensure_streams(js: Any, limits: StreamLimits = StreamLimits()) -> None:
    """Create ``SOUK`` (every message, kept for ``max_age`` for replay) and ``SOUK_DLQ`` when
    missing; a stream that exists gets these limits and replicas (JetStream moves a stream from
    one replica to three in place), and keeps the rest of its settings (an operator's)."""
    for name, subjects, max_age, max_bytes in (
            (STREAM, [SUBJECT_PREFIX + ">"], limits.max_age, limits.max_bytes),
            (DLQ_STREAM, [DLQ_PREFIX + ">"], 0.0, limits.dlq_max_bytes)):
        config = api.StreamConfig(name=name, subjects=subjects, storage=api.StorageType.FILE,
                                  retention=api.RetentionPolicy.LIMITS,
                                  duplicate_window=DUPLICATE_WINDOW, max_age=max_age,
                                  max_bytes=max_bytes, discard=api.DiscardPolicy.NEW,
                                  num_replicas=limits.replicas)
        try:
            await js.add_stream(config)
        except BadRequestError:  # exists with other settings: only these are ours to set
            current = (await js.stream_info(name)).config
            if (current.max_age or 0.0, current.max_bytes, current.discard,
                    current.num_replicas or 1) != (max_age, max_bytes, api.DiscardPolicy.NEW,
                                                   limits.replicas):
                log.info("stream limits changed", stream=name, max_age=max_age,
                         max_bytes=max_bytes, replicas=limits.replicas,
                         was_max_age=current.max_age, was_max_bytes=current.max_bytes,
                         was_replicas=current.num_replicas)
                await js.update_stream(current.evolve(max_age=max_age, max_bytes=max_bytes,
                                                      discard=api.DiscardPolicy.NEW,
                                                      num_replicas=limits.replicas))


def filter_of(config: api.ConsumerConfig) -> list[str]:
    """The subjects a consumer's configuration filters on."""
    return list(config.filter_subjects or ([config.filter_subject] if config.filter_subject else []))


async def ensure_consumer(js: Any, durable: str, subjects: list[str], *, ack_wait: float,
                          retired: list[str] | tuple[str, ...] = (),
                          replicas: int = 1) -> list[str]:
    """Create or update the durable pull consumer ``durable`` so that it covers ``subjects``;
    return the subjects it filters on.

    Every instance of a service shares the consumer, and during a rolling deploy they run
    different versions: the filter is widened to what this instance handles and never narrowed,
    except by types the service retired (``MessageHandlers.retire``). A filter set to whatever
    the last instance to start handles would let an old instance drop a newer one's types (the
    consumer skips what its filter leaves out, for good). Read, widen and write happen under a
    lock (:func:`consumer_lock`): two instances of different versions widening at once would
    otherwise each write the filter it read plus its own types, and the last write would drop
    the other's. The consumer keeps as many replicas as the stream; ``replicas`` is that of the
    bucket of locks."""
    async with consumer_lock(js, durable, replicas=replicas):
        try:
            current = filter_of((await js.consumer_info(STREAM, durable)).config)
        except NotFoundError:
            current = []
        gone = {subject_of_type(name) for name in retired}
        wanted = sorted((set(current) | set(subjects)) - gone)
        config = api.ConsumerConfig(
            durable_name=durable, name=durable, ack_policy=api.AckPolicy.EXPLICIT,
            deliver_policy=api.DeliverPolicy.ALL, ack_wait=ack_wait, max_deliver=-1,
            filter_subjects=wanted, max_ack_pending=20000, max_waiting=512)
        await js.add_consumer(STREAM, config)
    return wanted


@contextlib.asynccontextmanager
async def consumer_lock(js: Any, durable: str, *, seconds: float = LOCK_SECONDS,
                        replicas: int = 1) -> AsyncIterator[None]:
    """Hold the lock of consumer ``durable`` (a key created in the ``SOUK_LOCKS`` bucket, whose
    entries expire after ``seconds``); raise TimeoutError when it stays taken longer than that,
    or the bucket (just made on a cluster) gets no leader in that time."""
    kv = await ensure_bucket(js, api.KeyValueConfig(
        bucket=LOCKS_BUCKET, ttl=seconds, history=1, max_bytes=1 << 20, replicas=replicas))
    owner = os.urandom(8).hex().encode()
    loop = asyncio.get_running_loop()
    give_up, pause = loop.time() + seconds + 5.0, 0.01
    while True:
        try:
            await kv.create(durable, owner)
            break
        except KeyWrongLastSequenceError:  # taken: wait for its release or its expiry
            if loop.time() >= give_up:
                raise TimeoutError(f"the lock of consumer {durable} stayed taken") from None
        # a bucket just made on a cluster: its leader is being elected (a JetStream publish,
        # which the key-value create is, reports that as NoStreamResponseError)
        except (NoRespondersError, NoStreamResponseError):
            if loop.time() >= give_up:
                raise TimeoutError(f"the bucket {LOCKS_BUCKET} has no leader") from None
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.5)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            await kv.delete(durable)

