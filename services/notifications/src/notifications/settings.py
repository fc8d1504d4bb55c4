"""Static settings of notifications, read from ``NOTIFICATIONS_*`` environment variables."""

from __future__ import annotations

from typing import Annotated, ClassVar

from msgspec import Meta

from chassis import ServiceSettings

__all__ = ["NotificationsSettings"]


class NotificationsSettings(ServiceSettings, frozen=True, kw_only=True):
    ENV_PREFIX: ClassVar[str] = "NOTIFICATIONS_"

    service_name: str = "notifications"
    # the mailbox is the service: without its database it cannot work, so empty is refused
    database_url: Annotated[str, Meta(min_length=1)] = "sqlite:///var/data/notifications.db"
