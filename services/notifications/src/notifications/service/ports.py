"""What the mailbox use cases need from storage, as protocols the adapters implement
(``notifications.adapters.sql`` over the chassis database; the unit tests, in memory)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chassis.db import UnitOfWork
from notifications.domain.messages import Kind, Message

__all__ = ["Mailbox", "MailboxUnitOfWork", "OrderMessages"]


@dataclass(frozen=True, slots=True)
class OrderMessages:
    """Which messages one order produced (what ``souk verify`` checks)."""

    order_id: str
    user_id: str
    kinds: tuple[Kind, ...]  # sorted


class Mailbox(Protocol):
    """Every customer's messages, seen from inside one transaction."""

    async def add_if_absent(self, message: Message) -> bool:
        """Insert unless the order already has a message of this kind, or already has a terminal
        message (even one another transaction is inserting right now); True if inserted."""
        ...

    async def list_for_user(self, user_id: str, *, before_id: str | None,
                            limit: int) -> list[Message]:
        """The user's messages, newest first, strictly older than ``before_id``."""
        ...

    async def list_by_order(self, *, after: str, limit: int) -> list[OrderMessages]:
        """Orders with messages, by order id, strictly after ``after``."""
        ...


MailboxUnitOfWork = UnitOfWork[Mailbox]
