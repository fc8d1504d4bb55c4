"""The store: the ``SOUK_CONFIG`` key-value bucket on JetStream (a value per key, 64 revisions
each), read and written by the services and by ``souk config``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from chassis.live.model import BUCKET, HISTORY, SERVICES_BUCKET, Record

__all__ = ["Revision", "decode_record", "encode_record", "history", "open_bucket", "open_services",
           "read_all", "revision_of", "write"]


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


async def open_bucket(js: Any, name: str = BUCKET) -> Any:
    """The bucket, created when missing (``SOUK_CONFIG`` keeps 64 revisions per key, the
    services' bucket one)."""
    from nats.js import api
    from nats.js.errors import BucketNotFoundError, NotFoundError

    try:
        return await js.key_value(name)
    except (BucketNotFoundError, NotFoundError):
        history = HISTORY if name == BUCKET else 1
        return await js.create_key_value(config=api.KeyValueConfig(
            bucket=name, history=history, max_bytes=16 << 20 if name == BUCKET else 4 << 20,
            storage=api.StorageType.FILE))


def revision_of(entry: Any) -> Revision:
    """A watched or historic KV entry as a revision."""
    deleted = entry.operation in ("DEL", "PURGE")
    record = Record(unset=True) if deleted else decode_record(entry.value)
    return Revision(entry.key, entry.revision or 0, record, deleted)


async def read_all(kv: Any) -> dict[str, Revision]:
    """Every key's latest revision."""
    watcher = await kv.watchall()
    found: dict[str, Revision] = {}
    try:
        async for entry in watcher:
            if entry is None:
                break
            found[entry.key] = revision_of(entry)
    finally:
        await watcher.stop()
    return found


async def history(kv: Any, key: str) -> list[Revision]:
    """The key's revisions, oldest first (empty when it never had one)."""
    from nats.js.errors import NoKeysError

    try:
        entries = await kv.history(key)
    except NoKeysError:
        return []
    return [revision_of(entry) for entry in entries]


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


async def open_services(js: Any) -> Any:
    return await open_bucket(js, SERVICES_BUCKET)
