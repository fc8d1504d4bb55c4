"""Static settings of analytics, read from ``ANALYTICS_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from chassis import ServiceSettings

__all__ = ["AnalyticsSettings"]


class AnalyticsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ANALYTICS_", extra="ignore", frozen=True)

    service_name: str = "analytics"
    # the read models live in it: an empty URL is refused
    database_url: str = Field(default="sqlite:///var/data/analytics.db", min_length=1)
    replay_batch_size: int = Field(default=500, ge=1, le=10_000,
                                   description="events applied per transaction by a replay")
