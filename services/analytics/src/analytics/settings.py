"""Static settings of analytics, read from ``ANALYTICS_*`` environment variables."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from chassis import StatefulServiceSettings

__all__ = ["AnalyticsSettings"]


class AnalyticsSettings(StatefulServiceSettings, frozen=True, kw_only=True):
    service_name: str = "analytics"
    replay_batch_size: Annotated[
        int, Meta(ge=1, le=10_000, description="events applied per transaction by a replay")
    ] = 500
