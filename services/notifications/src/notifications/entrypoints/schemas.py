"""The notifications API's bodies, as msgspec Structs (their JSON Schemas are the OpenAPI
document's)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from notifications.domain.messages import Message
from notifications.service.ports import OrderMessages

__all__ = ["MessageOut", "OrderMessagesOut"]

KindOut = Literal["order-confirmed", "order-cancelled"]


class MessageOut(msgspec.Struct, frozen=True):
    id: Annotated[str, Meta(description="time-ordered UUID")]
    order_id: str
    kind: KindOut
    subject: str
    body: str
    created_at: datetime

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        return cls(id=message.id, order_id=message.order_id, kind=message.kind.value,
                   subject=message.subject, body=message.body, created_at=message.created_at)


class OrderMessagesOut(msgspec.Struct, frozen=True):
    """The messages one order produced: `souk verify` wants exactly one terminal kind."""

    order_id: str
    user_id: str
    kinds: list[KindOut]
    count: int

    @classmethod
    def of(cls, found: OrderMessages) -> OrderMessagesOut:
        return cls(order_id=found.order_id, user_id=found.user_id,
                   kinds=[k.value for k in found.kinds], count=len(found.kinds))
