"""How a contract travels: subject, headers, and the incoming message handlers see."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from contracts import Message

__all__ = ["CORRELATION", "DLQ_PREFIX", "DLQ_STREAM", "MSG_ID", "NATS_MSG_ID", "STREAM",
           "SUBJECT_PREFIX", "TYPE", "Incoming", "Outgoing", "subject_for", "subject_of_type"]

STREAM = "SOUK"
SUBJECT_PREFIX = "souk."
DLQ_STREAM = "SOUK_DLQ"
DLQ_PREFIX = "souk-dlq."

# A message's id is its Nats-Msg-Id and its type is its subject after ``souk.``; the two Souk
# headers say them only where they differ: a dead letter or a replay (its own Nats-Msg-Id, so
# JetStream keeps it, and another subject) carries the original's.
NATS_MSG_ID = "Nats-Msg-Id"
MSG_ID = "Souk-Msg-Id"
TYPE = "Souk-Type"
CORRELATION = "Souk-Correlation-Id"


def subject_of_type(type_name: str) -> str:
    """``inventory.ReserveStock.v1`` → ``souk.inventory.ReserveStock.v1``."""
    return SUBJECT_PREFIX + type_name


def subject_for(message: type[Message] | Message) -> str:
    return subject_of_type(message.TYPE)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One outbox row: what the relay publishes."""

    msg_id: str
    subject: str
    headers: dict[str, str]
    payload: bytes
    created_at: float


@dataclass(slots=True)
class Incoming:
    """A delivered message as a handler sees it (the parsed contract comes separately)."""

    id: str
    type: str
    subject: str
    data: bytes
    headers: Mapping[str, str]
    delivered: int = 1
    stream_seq: int = 0
    reply: str = field(default="", repr=False)

    @property
    def correlation_id(self) -> str:
        return self.headers.get(CORRELATION, "")

    @property
    def reply_id(self) -> str:
        """The message id of the answer to this message (``<id>.r``): the same for every delivery
        of it, so an answer published again after a redelivery is dropped as a duplicate."""
        return f"{self.id}.r"
