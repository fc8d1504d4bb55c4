"""The use cases: deliver a message when an order ends; read a mailbox; list by order (admin)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from chassis.ids import new_id
from notifications.domain.messages import Message, OrderOutcome, compose
from notifications.service.ports import Mailbox, MailboxUnitOfWork, OrderMessages

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
    more: bool  # older messages follow the last item


def _check_limit(limit: int, most: int) -> None:
    if not 1 <= limit <= most:
        raise ValueError(f"limit must be between 1 and {most}")


async def list_mailbox(uow: MailboxUnitOfWork, user_id: str, *,
                       before_id: str | None = None,
                       limit: int = DEFAULT_PAGE_SIZE) -> MailboxPage:
    """One page of ``user_id``'s own messages, newest first, older than ``before_id``."""
    _check_limit(limit, MAX_PAGE_SIZE)
    async with uow(readonly=True) as mailbox:
        # one row more than asked tells whether another page follows, without a second query
        found = await mailbox.list_for_user(user_id, before_id=before_id, limit=limit + 1)
    return MailboxPage(found[:limit], len(found) > limit)


@dataclass(frozen=True, slots=True)
class OrderMessagesPage:
    items: list[OrderMessages]
    more: bool  # more orders follow the last item


async def list_by_order(uow: MailboxUnitOfWork, *, after: str = "",
                        limit: int = MAX_ADMIN_PAGE_SIZE) -> OrderMessagesPage:
    """One page of the orders that have messages, by order id, after the order id ``after``."""
    _check_limit(limit, MAX_ADMIN_PAGE_SIZE)
    async with uow(readonly=True) as mailbox:
        found = await mailbox.list_by_order(after=after, limit=limit + 1)
    return OrderMessagesPage(found[:limit], len(found) > limit)
