"""Static settings of telemetry, read from ``TELEMETRY_*`` environment variables."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from chassis import ServiceSettings

__all__ = ["TelemetrySettings"]


class TelemetrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TELEMETRY_", extra="ignore", frozen=True)

    service_name: str = "telemetry"
    database_url: str = Field(default="sqlite:///var/data/telemetry.db", min_length=1)
    max_traces: int = Field(default=20_000, ge=1, description="traces kept; the oldest go first")
    max_age_seconds: float = Field(default=3600, gt=0, description="traces older are dropped")
    prune_interval_seconds: float = Field(default=10, gt=0, le=3600)
    max_body_bytes: int = Field(
        default=16 * 1024 * 1024, ge=1024,
        description="largest export request, before and after decompression (413 above)")
    # Telemetry never traces itself: exporting the spans of its own ingest would feed them back
    # to itself in a loop. Whatever the environment says, these stay off.
    otlp_endpoint: str = Field(default="", description="always empty for telemetry")
    trace_sample_ratio: float = Field(default=0.0, description="always 0 for telemetry")

    @model_validator(mode="after")
    def _never_trace_itself(self) -> TelemetrySettings:
        object.__setattr__(self, "otlp_endpoint", "")
        object.__setattr__(self, "trace_sample_ratio", 0.0)
        return self
