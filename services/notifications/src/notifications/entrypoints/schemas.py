"""The JSON shapes of the notifications API, and their mapping from domain objects."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from notifications.domain.messages import Message
from notifications.service.ports import OrderMessages

__all__ = ["MessageOut", "MessagePageOut", "OrderMessagesOut", "OrderMessagesPageOut"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class MessageOut(_Out):
    id: str = Field(description="time-ordered UUID")
    order_id: str
    kind: str = Field(examples=["order-confirmed", "order-cancelled"])
    subject: str
    body: str
    created_at: datetime

    @classmethod
    def of(cls, message: Message) -> MessageOut:
        return cls(id=message.id, order_id=message.order_id, kind=message.kind.value,
                   subject=message.subject, body=message.body, created_at=message.created_at)


class MessagePageOut(_Out):
    items: list[MessageOut]
    next_cursor: str | None = Field(
        description="pass as `cursor` to get the next (older) page; null on the last page")


class OrderMessagesOut(_Out):
    order_id: str
    user_id: str
    kinds: list[str]
    count: int

    @classmethod
    def of(cls, found: OrderMessages) -> OrderMessagesOut:
        return cls(order_id=found.order_id, user_id=found.user_id,
                   kinds=[k.value for k in found.kinds], count=len(found.kinds))


class OrderMessagesPageOut(_Out):
    items: list[OrderMessagesOut]
    next: str | None = Field(description="pass as `after` for the next page; null on the last")


