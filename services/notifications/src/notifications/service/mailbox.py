"""The use cases: deliver a message when an order ends; read a mailbox; list by order (admin)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chassis.ids import new_id
from notifications.domain.cursor import decode_cursor, encode_cursor
from notifications.domain.messages import Message, OrderOutcome, compose
from notifications.service.ports import Mailbox, OrderMessages, UnitOfWork

__all__ = ["DEFAULT_PAGE_SIZE", "MAX_ADMIN_PAGE_SIZE", "MAX_PAGE_SIZE", "MailboxPage",
           "OrderMessagesPage", "list_by_order", "list_mailbox", "notify"]

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_ADMIN_PAGE_SIZE = 1000


async def notify(mailbox: Mailbox, outcome: OrderOutcome, now: datetime) -> bool:
    """Put the message for ``outcome`` in the customer's mailbox, once: a repeated event, or a
    second terminal outcome of the same order, adds nothing. True if a message was added."""
    return await mailbox.add_if_absent(compose(outcome, message_id=new_id(), now=now))


@dataclass(frozen=True, slots=True)
class MailboxPage:
    items: list[Message]
    next_cursor: str | None  # None on the last page


async def list_mailbox(uow: UnitOfWork, user_id: str, *, limit: int = DEFAULT_PAGE_SIZE,
                       cursor: str | None = None) -> MailboxPage:
    """One page of ``user_id``'s own messages, newest first (``InvalidCursor`` for a bad cursor)."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_PAGE_SIZE}")
    before = decode_cursor(cursor) if cursor is not None else None
    async with uow.transaction(readonly=True) as mailbox:
        found = await mailbox.list_for_user(user_id, before_id=before, limit=limit + 1)
    items = found[:limit]
    return MailboxPage(items, encode_cursor(items[-1].id) if len(found) > limit else None)


@dataclass(frozen=True, slots=True)
class OrderMessagesPage:
    items: list[OrderMessages]
    next: str | None  # the last order id of this page when there may be more


async def list_by_order(uow: UnitOfWork, *, after: str = "",
                        limit: int = MAX_ADMIN_PAGE_SIZE) -> OrderMessagesPage:
    if not 1 <= limit <= MAX_ADMIN_PAGE_SIZE:
        raise ValueError(f"limit must be between 1 and {MAX_ADMIN_PAGE_SIZE}")
    async with uow.transaction(readonly=True) as mailbox:
        found = await mailbox.list_by_order(after=after, limit=limit + 1)
    items = found[:limit]
    return OrderMessagesPage(items, items[-1].order_id if len(found) > limit else None)
