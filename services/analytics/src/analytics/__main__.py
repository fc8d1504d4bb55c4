"""``python -m analytics``: serve with settings from the ``ANALYTICS_*`` environment."""

from __future__ import annotations

from analytics.app import create_app
from analytics.settings import AnalyticsSettings
from chassis.serve import serve


def main() -> None:
    serve(create_app, AnalyticsSettings.load())


if __name__ == "__main__":
    main()
