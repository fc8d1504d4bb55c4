"""Poison messages: what no handler can apply, published to the ``SOUK`` stream as any service
would (a subject ``souk.<type>``, a ``Nats-Msg-Id``), and where each of them ended.

Each known type gets an undecodable body, JSON of the wrong shape and JSON missing every field;
every consumer whose filter takes the type must dead-letter each of them at once (it cannot be
parsed, so there is no point retrying) and go on with the messages behind it. A message of a type
no service knows is delivered to no consumer (they filter by subject) and must not be
dead-lettered either.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from chassis.messaging.envelope import NATS_MSG_ID, STREAM, subject_of_type
from chassis.messaging.streams import filter_of
from souk.dlq import jetstream, list_dead_letters

__all__ = ["BODIES", "UNKNOWN_TYPE", "expected_consumers", "publish", "where_they_ended"]

BODIES: dict[str, bytes] = {
    "undecodable": b"\x80\xff\x00 not json at all \xfe",
    "wrong-shape": b"[1, 2, 3]",
    "missing-fields": b'{"poison": true}',
}
UNKNOWN_TYPE = "orders.OrderTeleported.v1"


async def _consumer_filters(js: Any) -> dict[str, list[str]]:
    return {info.name: filter_of(info.config) for info in await js.consumers_info(STREAM)}


def expected_consumers(subject: str, filters: dict[str, list[str]]) -> list[str]:
    """The consumers whose filter takes ``subject`` (filters here are exact subjects)."""
    return sorted(name for name, subjects in filters.items()
                  if subject in subjects or not subjects)


async def publish(nats_url: str, types: Iterable[str], copies: int) -> list[dict[str, Any]]:
    """Publish ``copies`` of each poison body per type, and of a type nobody knows; what was
    sent, with the consumers that should dead-letter each."""
    run = uuid.uuid4().hex[:12]
    sent: list[dict[str, Any]] = []
    async with jetstream(nats_url) as js:
        filters = await _consumer_filters(js)
        plan = [(type_, kind, body) for type_ in types for kind, body in BODIES.items()]
        plan.append((UNKNOWN_TYPE, "unknown-type", b'{"order_id": "nowhere"}'))
        for n in range(copies):
            for type_, kind, body in plan:
                subject = subject_of_type(type_)
                msg_id = f"chaos-poison-{run}-{kind}-{type_}-{n}"
                ack = await js.publish(subject, body, headers={NATS_MSG_ID: msg_id})
                sent.append({"msg_id": msg_id, "subject": subject, "kind": kind,
                             "stream_seq": ack.seq,
                             "expect": [] if type_ == UNKNOWN_TYPE
                             else expected_consumers(subject, filters)})
    return sent


async def where_they_ended(nats_url: str, sent: list[dict[str, Any]]) -> dict[str, Any]:
    """Which consumers dead-lettered each message sent: the missing and the unexpected ones."""
    letters = await list_dead_letters(nats_url)
    by_id: dict[str, set[str]] = {}
    for letter in letters:
        by_id.setdefault(letter.msg_id, set()).add(letter.consumer)
    missing, unexpected = [], []
    for message in sent:
        got = by_id.get(message["msg_id"], set())
        missing += [f"{message['msg_id']} not dead-lettered by {consumer}"
                    for consumer in message["expect"] if consumer not in got]
        unexpected += [f"{message['msg_id']} dead-lettered by {consumer}"
                       for consumer in sorted(got - set(message["expect"]))]
    return {"sent": len(sent),
            "dead_letters_expected": sum(len(m["expect"]) for m in sent),
            "dead_letters_found": sum(len(by_id.get(m["msg_id"], ())) for m in sent),
            "missing": len(missing), "unexpected": len(unexpected),
            "first_problems": (missing + unexpected)[:10]}
