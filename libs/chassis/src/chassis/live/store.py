"""The store: the ``SOUK_CONFIG`` key-value bucket on JetStream (a value per key, 64 revisions
each), read and written by the services and by ``souk config``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from chassis.live.model import BUCKET, HISTORY, SERVICES_BUCKET, Record

__all__ = ["Revision", "decode_record", "encode_record", "history", "open_bucket", "open_services",
           "read_all", "read_entries", "revision_of", "write"]


@dataclass(frozen=True, slots=True)
class Revision:
    key: str
    revision: int
    record: Record
    deleted: bool = False  # removed by a KV delete or purge (not by ``souk config``)


def encode_record(record: Record) -> bytes:
    return msgspec.json.encode(record)


def decode_record(data: bytes | None) -> Record:
    """A revision's record; a value written by another tool (plain JSON, not a record) is read
    as a record of that value without an audit."""
    if not data:
        return Record(unset=True)
    try:
        return msgspec.json.decode(data, type=Record)
    except msgspec.DecodeError:
        try:
            return Record(value=msgspec.json.decode(data))
        except msgspec.DecodeError:
            return Record(value=data.decode("utf-8", "replace"))


async def open_bucket(js: Any, name: str = BUCKET, *, replicas: int = 1) -> Any:
    """The bucket, created when missing (``SOUK_CONFIG`` keeps 64 revisions per key, the
    services' bucket one), on ``replicas`` broker nodes (the setting ``stream_replicas``)."""
    from nats.js import api
    from nats.js.errors import BucketNotFoundError, NotFoundError

    from chassis.broker import ensure_bucket

    try:
        return await js.key_value(name)
    except (BucketNotFoundError, NotFoundError):
        history = HISTORY if name == BUCKET else 1
        return await ensure_bucket(js, api.KeyValueConfig(
            bucket=name, history=history, max_bytes=16 << 20 if name == BUCKET else 4 << 20,
            storage=api.StorageType.FILE, replicas=replicas))


def revision_of(entry: Any) -> Revision:
    """A watched or historic KV entry as a revision."""
    deleted = entry.operation in ("DEL", "PURGE")
    record = Record(unset=True) if deleted else decode_record(entry.value)
    return Revision(entry.key, entry.revision or 0, record, deleted)


async def read_all(kv: Any) -> dict[str, Revision]:
    """Every key's latest revision (a delete is a revision too)."""
    return {entry.key: revision_of(entry) for entry in await read_entries(kv, ">", everything=False)}


async def history(kv: Any, key: str) -> list[Revision]:
    """The key's revisions, oldest first (empty when it never had one)."""
    return [revision_of(entry) for entry in await read_entries(kv, key, everything=True)]


async def read_entries(kv: Any, keys: str = ">", *, everything: bool = False) -> list[Any]:
    """The entries of ``keys`` (a key or a wildcard): all kept revisions, or the latest of each.

    Read with an ephemeral *pull* consumer, which holds back every message until asked: its
    pending count is then exact. A watch (a push consumer) may have been sent everything before
    its pending count is read, and then reports the end of the initial values before them
    (nats-py's ``KeyValue.history`` and ``keys`` have that race)."""
    from nats.js import api
    from nats.js.kv import KV_OP, KeyValue

    # nats-py's KeyValue offers no such read: its stream and subject prefix, as it uses them
    js, stream, prefix = kv._js, kv._stream, kv._pre
    config = api.ConsumerConfig(
        deliver_policy=api.DeliverPolicy.ALL if everything else api.DeliverPolicy.LAST_PER_SUBJECT,
        ack_policy=api.AckPolicy.NONE, inactive_threshold=30.0)
    sub = await js.pull_subscribe(prefix + keys, stream=stream, config=config)
    entries: list[Any] = []
    try:
        pending = (await sub.consumer_info()).num_pending
        while pending > 0:
            for msg in await sub.fetch(min(pending, 256), timeout=5.0):
                meta = msg.metadata
                op = msg.header.get(KV_OP) if msg.header else None
                entries.append(KeyValue.Entry(
                    bucket=kv._name, key=msg.subject[len(prefix):], value=msg.data,
                    revision=meta.sequence.stream, delta=meta.num_pending,
                    created=meta.timestamp, operation=op))
                pending = meta.num_pending
    finally:
        await sub.unsubscribe()
    return entries


async def write(kv: Any, key: str, record: Record, *, last: int | None = None) -> int:
    """Store ``record`` as the key's new revision; with ``last``, only if the key's latest
    revision is still ``last`` (0: the key has none), so two writers cannot both think they
    saw the old value. Returns the new revision."""
    data = encode_record(record)
    if last is None:
        return int(await kv.put(key, data))
    if last == 0:
        return int(await kv.create(key, data))
    return int(await kv.update(key, data, last=last))


async def open_services(js: Any, *, replicas: int = 1) -> Any:
    return await open_bucket(js, SERVICES_BUCKET, replicas=replicas)
