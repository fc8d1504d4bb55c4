"""Static settings of analytics, read from ``ANALYTICS_*`` environment variables."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from chassis import StatefulServiceSettings
from chassis.settings import BatchSize

__all__ = ["AnalyticsSettings"]


class AnalyticsSettings(StatefulServiceSettings, frozen=True, kw_only=True):
    service_name: str = "analytics"
    replay_batch_size: Annotated[
        BatchSize, Meta(description="events applied per transaction by a replay")
    ] = 500
