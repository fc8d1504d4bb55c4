"""What the notifications entrypoints share, built once by the composition root (app.py)."""

from __future__ import annotations

from dataclasses import dataclass

from notifications.service.ports import MailboxUnitOfWork

__all__ = ["NotificationsContext"]


@dataclass(frozen=True, slots=True)
class NotificationsContext:
    uow: MailboxUnitOfWork
