"""Static settings of notifications, read from ``NOTIFICATIONS_*`` environment variables."""

from __future__ import annotations

from chassis import StatefulServiceSettings

__all__ = ["NotificationsSettings"]


class NotificationsSettings(StatefulServiceSettings, frozen=True, kw_only=True):
    service_name: str = "notifications"
