"""The dead-letter stream ``SOUK_DLQ``: count, list and replay its messages, over a JetStream
context (``souk dlq`` opens one of its own; a service uses its broker's).

A consumer that gives up on a message publishes it to ``souk-dlq.<consumer>`` with its original
data and headers plus ``Souk-Dlq-Subject``, ``Souk-Dlq-Consumer``, ``Souk-Dlq-Error``,
``Souk-Dlq-Deliveries`` and ``Souk-Dlq-Failures`` (its handler's failures). A replay republishes
the original to its subject with the original headers; only ``Nats-Msg-Id`` changes
(``<Souk-Msg-Id>.replay.<dlq seq>``), so JetStream does not drop it as a duplicate, while the
consumers' inboxes still key on ``Souk-Msg-Id`` (never recorded for a dead letter, so the
consumer that failed it applies it; the others skip it).

A replayed letter stays in ``SOUK_DLQ`` (its service's dead-letter record and the stream must
keep agreeing: an invariant); each replay is recorded in the key-value bucket
``SOUK_DLQ_REPLAYS`` under the letter's seq (when, by whom, where it went), so anyone listing the
letters sees which were replayed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import msgspec
from nats.js import JetStreamContext, api
from nats.js.errors import BucketNotFoundError, NotFoundError
from nats.js.kv import KeyValue

from chassis.broker import ensure_bucket
from chassis.messaging.envelope import DLQ_PREFIX, DLQ_STREAM

__all__ = ["REPLAYS_BUCKET", "DeadLetter", "DlqError", "ReplayRecord", "Replayed",
           "count_by_consumer", "dead_letters", "replay", "replay_headers", "replays"]

REPLAYS_BUCKET = "SOUK_DLQ_REPLAYS"
REPLAYS_MAX_AGE = 30 * 86400.0  # seconds a replay stays on record
REPLAYS_MAX_BYTES = 8 << 20

DLQ_HEADERS = ("Souk-Dlq-Subject", "Souk-Dlq-Consumer", "Souk-Dlq-Error", "Souk-Dlq-Deliveries",
               "Souk-Dlq-Failures")


class DlqError(Exception):
    """A message to replay is not in the stream, or cannot be replayed."""


@dataclass(frozen=True)
class DeadLetter:
    """One message of ``SOUK_DLQ``."""

    seq: int
    consumer: str
    subject: str  # where it was going: Souk-Dlq-Subject
    type: str
    msg_id: str
    deliveries: int | None
    error: str
    time: datetime | None
    headers: Mapping[str, str]
    data: bytes

    @classmethod
    def of(cls, seq: int, subject: str, headers: Mapping[str, str] | None, data: bytes | None,
           time: datetime | None) -> DeadLetter:
        h = dict(headers or {})
        deliveries = h.get("Souk-Dlq-Deliveries", "")
        return cls(seq=seq, consumer=h.get("Souk-Dlq-Consumer") or subject.removeprefix(DLQ_PREFIX),
                   subject=h.get("Souk-Dlq-Subject", ""), type=h.get("Souk-Type", ""),
                   msg_id=h.get("Souk-Msg-Id", ""),
                   deliveries=int(deliveries) if deliveries.isdigit() else None,
                   error=h.get("Souk-Dlq-Error", ""), time=time, headers=h, data=data or b"")

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "consumer": self.consumer, "subject": self.subject,
                "type": self.type, "msg_id": self.msg_id, "deliveries": self.deliveries,
                "error": self.error, "time": self.time.isoformat() if self.time else None}


@dataclass(frozen=True)
class Replayed:
    """A dead letter sent again: where, under which ``Nats-Msg-Id``, at which stream seq."""

    seq: int
    subject: str
    msg_id: str
    nats_msg_id: str
    stream_seq: int
    duplicate: bool


class ReplayRecord(msgspec.Struct, frozen=True):
    """The last replay of one dead letter: when (UTC, ISO 8601), by whom, under which
    ``Nats-Msg-Id``, at which seq of the stream it went to."""

    at: str
    by: str
    nats_msg_id: str
    stream_seq: int


def replay_headers(letter: DeadLetter) -> dict[str, str]:
    """The original headers of ``letter`` with a fresh ``Nats-Msg-Id``."""
    headers = {k: v for k, v in letter.headers.items() if k not in DLQ_HEADERS}
    headers["Nats-Msg-Id"] = f"{letter.msg_id}.replay.{letter.seq}"
    return headers


async def count_by_consumer(js: JetStreamContext) -> dict[str, int]:
    """Messages in ``SOUK_DLQ`` per consumer (empty when the stream does not exist yet)."""
    try:
        info = await js.stream_info(DLQ_STREAM, subjects_filter=DLQ_PREFIX + ">")
    except NotFoundError:
        return {}
    subjects: dict[str, int] = info.state.subjects or {}
    return {subject.removeprefix(DLQ_PREFIX): count for subject, count in subjects.items()}


async def dead_letters(js: JetStreamContext, *, after: int = 0,
                       limit: int | None = None) -> AsyncIterator[DeadLetter]:
    """The messages of ``SOUK_DLQ`` past stream sequence ``after``, oldest first (at most
    ``limit``)."""
    seq, count = after + 1, 0
    while limit is None or count < limit:
        try:
            raw = await js.get_msg(DLQ_STREAM, seq, subject=DLQ_PREFIX + ">", next=True)
        except NotFoundError:  # past the last message, or no stream at all
            return
        yield DeadLetter.of(raw.seq or seq, raw.subject or "", raw.headers, raw.data, raw.time)
        seq, count = (raw.seq or seq) + 1, count + 1


async def _replays(js: JetStreamContext) -> KeyValue:
    try:
        return await js.key_value(REPLAYS_BUCKET)
    except (BucketNotFoundError, NotFoundError):
        pass
    # on as many broker nodes as the dead letters it records (a cluster's replicas)
    try:
        replicas = (await js.stream_info(DLQ_STREAM)).config.num_replicas or 1
    except NotFoundError:
        replicas = 1
    kv: KeyValue = await ensure_bucket(js, api.KeyValueConfig(
        bucket=REPLAYS_BUCKET, history=1, ttl=REPLAYS_MAX_AGE, max_bytes=REPLAYS_MAX_BYTES,
        storage=api.StorageType.FILE, replicas=replicas))
    return kv


async def replays(js: JetStreamContext, seqs: Iterable[int]) -> dict[int, ReplayRecord]:
    """The recorded replays of the dead letters ``seqs`` (those never replayed are absent)."""
    kv = await _replays(js)
    found: dict[int, ReplayRecord] = {}
    for seq in seqs:
        try:
            entry = await kv.get(str(seq))
        except (NotFoundError, KeyError):  # nats-py raises KeyNotFoundError (a NotFoundError)
            continue
        if entry.value:
            found[seq] = msgspec.json.decode(entry.value, type=ReplayRecord)
    return found


async def replay(js: JetStreamContext, seqs: Iterable[int] | None, *,
                 by: str = "") -> list[Replayed]:
    """Republish the dead letters ``seqs`` (every one when None); they stay in the DLQ, each
    replay recorded (``by``: who asked, for the record)."""
    letters = [letter async for letter in dead_letters(js)]
    by_seq = {letter.seq: letter for letter in letters}
    if seqs is not None:
        wanted = list(dict.fromkeys(seqs))
        if missing := [seq for seq in wanted if seq not in by_seq]:
            raise DlqError(f"not in {DLQ_STREAM}: {', '.join(map(str, missing))}")
        letters = [by_seq[seq] for seq in wanted]
    kv = await _replays(js)
    done = []
    for letter in letters:
        if not letter.subject:
            raise DlqError(f"dead letter {letter.seq} has no Souk-Dlq-Subject header")
        headers = replay_headers(letter)
        ack = await js.publish(letter.subject, letter.data, headers=headers)
        await kv.put(str(letter.seq), msgspec.json.encode(ReplayRecord(
            at=datetime.now(UTC).isoformat(timespec="seconds"), by=by,
            nats_msg_id=headers["Nats-Msg-Id"], stream_seq=ack.seq)))
        done.append(Replayed(letter.seq, letter.subject, letter.msg_id, headers["Nats-Msg-Id"],
                             ack.seq, bool(ack.duplicate)))
    return done
