"""The dead-letter stream ``SOUK_DLQ``: count, list and replay its messages (nats-py).

A consumer that gives up on a message publishes it to ``souk-dlq.<consumer>`` with its original
data and headers plus ``Souk-Dlq-Subject``, ``Souk-Dlq-Consumer``, ``Souk-Dlq-Error``,
``Souk-Dlq-Deliveries`` and ``Souk-Dlq-Failures`` (its handler's failures). A replay republishes
the original to its subject with the original headers; only ``Nats-Msg-Id`` changes
(``<Souk-Msg-Id>.replay.<dlq seq>``), so JetStream does not drop it as a duplicate, while the
consumers' inboxes still key on ``Souk-Msg-Id`` (never recorded for a dead letter, so the
consumer that failed it applies it; the others skip it).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

__all__ = ["DLQ_PREFIX", "DLQ_STREAM", "DeadLetter", "DlqError", "Replayed", "count_by_consumer", "jetstream",
           "list_dead_letters", "replay", "replay_headers"]

DLQ_STREAM = "SOUK_DLQ"
DLQ_PREFIX = "souk-dlq."
DLQ_HEADERS = ("Souk-Dlq-Subject", "Souk-Dlq-Consumer", "Souk-Dlq-Error", "Souk-Dlq-Deliveries",
               "Souk-Dlq-Failures")
TIMEOUT = 5.0


class DlqError(Exception):
    """NATS could not be reached, or a message to replay is not in the stream."""


@dataclass(frozen=True)
class DeadLetter:
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
    seq: int
    subject: str
    msg_id: str
    nats_msg_id: str
    stream_seq: int
    duplicate: bool


def replay_headers(letter: DeadLetter) -> dict[str, str]:
    """The original headers of ``letter`` with a fresh ``Nats-Msg-Id``."""
    headers = {k: v for k, v in letter.headers.items() if k not in DLQ_HEADERS}
    headers["Nats-Msg-Id"] = f"{letter.msg_id}.replay.{letter.seq}"
    return headers


@contextlib.asynccontextmanager
async def jetstream(nats_url: str, *, error: type[Exception] | None = None,
                    name: str = "souk-cli") -> AsyncIterator[Any]:
    """A JetStream context on one connection to ``nats_url`` (one server, or a cluster's nodes
    comma-separated: one connect attempt to each, in random order, the first that answers is
    used); an unreachable broker, or a request it leaves unanswered (a cluster electing a new
    leader for a stream answers again within seconds), raises ``error`` (DlqError by default)
    with the reason."""
    import nats  # ~0.2 s to import: only for the commands that use it
    from nats.errors import NoRespondersError, NoServersError
    from nats.js.errors import ServiceUnavailableError

    from chassis.broker import servers_of

    async def quiet(_: Exception) -> None:  # the failure is raised below, once, not logged
        return

    try:
        # one attempt: with allow_reconnect=False alone nats-py keeps retrying the first connect
        nc = await asyncio.wait_for(nats.connect(
            servers=servers_of(nats_url), connect_timeout=TIMEOUT, allow_reconnect=False,
            max_reconnect_attempts=1, reconnect_time_wait=0.1, error_cb=quiet, name=name), TIMEOUT * 2)
    except (NoServersError, OSError, TimeoutError) as exc:
        raise (error or DlqError)(f"cannot reach NATS at {nats_url}: {exc}") from None
    try:
        yield nc.jetstream(timeout=TIMEOUT)
    except (TimeoutError, NoRespondersError, ServiceUnavailableError) as exc:
        raise (error or DlqError)(
            f"NATS did not answer ({str(exc) or type(exc).__name__}); if a broker node has just "
            "gone, its streams are electing a new leader: try again in a few seconds") from None
    finally:
        await nc.close()


async def count_by_consumer(nats_url: str) -> dict[str, int]:
    """Messages in ``SOUK_DLQ`` per consumer (empty when the stream does not exist yet)."""
    from nats.js.errors import NotFoundError

    async with jetstream(nats_url) as js:
        try:
            info = await js.stream_info(DLQ_STREAM, subjects_filter=DLQ_PREFIX + ">")
        except NotFoundError:
            return {}
    subjects: dict[str, int] = info.state.subjects or {}
    return {subject.removeprefix(DLQ_PREFIX): count for subject, count in subjects.items()}


async def _letters(js: Any) -> AsyncIterator[DeadLetter]:
    from nats.js.errors import NotFoundError

    seq = 1
    while True:
        try:
            raw = await js.get_msg(DLQ_STREAM, seq, subject=DLQ_PREFIX + ">", next=True)
        except NotFoundError:  # past the last message, or no stream at all
            return
        yield DeadLetter.of(raw.seq, raw.subject or "", raw.headers, raw.data, raw.time)
        seq = raw.seq + 1


async def list_dead_letters(nats_url: str) -> list[DeadLetter]:
    """Every message in ``SOUK_DLQ``, oldest first."""
    async with jetstream(nats_url) as js:
        return [letter async for letter in _letters(js)]


async def replay(nats_url: str, seqs: Iterable[int] | None) -> list[Replayed]:
    """Republish the dead letters ``seqs`` (every one when None); they stay in the DLQ."""
    async with jetstream(nats_url) as js:
        letters = [letter async for letter in _letters(js)]
        by_seq = {letter.seq: letter for letter in letters}
        if seqs is not None:
            wanted = list(dict.fromkeys(seqs))
            if missing := [seq for seq in wanted if seq not in by_seq]:
                raise DlqError(f"not in {DLQ_STREAM}: {', '.join(map(str, missing))}")
            letters = [by_seq[seq] for seq in wanted]
        done = []
        for letter in letters:
            if not letter.subject:
                raise DlqError(f"dead letter {letter.seq} has no Souk-Dlq-Subject header")
            headers = replay_headers(letter)
            ack = await js.publish(letter.subject, letter.data, headers=headers)
            done.append(Replayed(letter.seq, letter.subject, letter.msg_id,
                                 headers["Nats-Msg-Id"], ack.seq, bool(ack.duplicate)))
        return done
