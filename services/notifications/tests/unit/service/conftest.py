"""An in-memory mailbox that keeps the repository contract (both unique rules included) and is
its own unit of work (no sockets, no files)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from notifications.domain.messages import TERMINAL_KINDS, Message
from notifications.service.ports import OrderMessages


class InMemoryMailbox:
    def __init__(self) -> None:
        self.messages: dict[str, Message] = {}
        self.transactions = 0

    async def add_if_absent(self, message: Message) -> bool:
        for old in self.messages.values():
            if old.order_id == message.order_id and (
                    old.kind == message.kind
                    or (old.kind in TERMINAL_KINDS and message.kind in TERMINAL_KINDS)):
                return False
        self.messages[message.id] = message
        return True

    async def list_for_user(self, user_id: str, *, before_id: str | None,
                            limit: int) -> list[Message]:
        mine = sorted((m for m in self.messages.values() if m.user_id == user_id
                       and (before_id is None or m.id < before_id)),
                      key=lambda m: m.id, reverse=True)
        return mine[:limit]

    async def list_by_order(self, *, after: str, limit: int) -> list[OrderMessages]:
        orders: dict[str, list[Message]] = {}
        for m in self.messages.values():
            if m.order_id > after:
                orders.setdefault(m.order_id, []).append(m)
        return [OrderMessages(order_id, found[0].user_id, tuple(sorted(m.kind for m in found)))
                for order_id, found in sorted(orders.items())][:limit]

    @asynccontextmanager
    async def __call__(self, *, readonly: bool = False) -> AsyncIterator[InMemoryMailbox]:
        self.transactions += 1
        yield self


@pytest.fixture
def box() -> InMemoryMailbox:
    return InMemoryMailbox()
