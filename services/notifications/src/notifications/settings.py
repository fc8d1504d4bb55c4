"""Static settings of notifications, read from ``NOTIFICATIONS_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from chassis import ServiceSettings

__all__ = ["NotificationsSettings"]


class NotificationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore", frozen=True)

    service_name: str = "notifications"
    # the mailbox is the service: without its database it cannot work, so empty is refused
    database_url: str = Field(default="sqlite:///var/data/notifications.db", min_length=1)
