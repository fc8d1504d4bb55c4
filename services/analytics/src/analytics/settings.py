"""Static settings of analytics, read from ``ANALYTICS_*`` environment variables."""

from __future__ import annotations

from typing import Annotated, ClassVar

from msgspec import Meta

from chassis import ServiceSettings

__all__ = ["AnalyticsSettings"]


class AnalyticsSettings(ServiceSettings, frozen=True, kw_only=True):
    ENV_PREFIX: ClassVar[str] = "ANALYTICS_"

    service_name: str = "analytics"
    # the read models live in it: an empty URL is refused
    database_url: Annotated[str, Meta(min_length=1)] = "sqlite:///var/data/analytics.db"
    replay_batch_size: Annotated[
        int, Meta(ge=1, le=10_000, description="events applied per transaction by a replay")
    ] = 500
