"""``python -m notifications``: serve with settings from the ``NOTIFICATIONS_*`` environment."""

from __future__ import annotations

from chassis.serve import serve
from notifications.app import create_app
from notifications.settings import NotificationsSettings


def main() -> None:
    serve(create_app, NotificationsSettings.load())


if __name__ == "__main__":
    main()
