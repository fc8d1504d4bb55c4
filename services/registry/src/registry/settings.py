"""Registry settings (env prefix ``REGISTRY_``)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from chassis.settings import ServiceSettings

__all__ = ["RegistrySettings"]


class RegistrySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", extra="ignore", frozen=True)

    service_name: str = "registry"
    port: int = 8500
    database_url: str = "sqlite:///var/data/registry.db"
    ttl: float = Field(default=10.0, gt=0, description="evict after this long without heartbeat")
    check_interval: float = Field(default=1.0, gt=0, description="seconds between health checks")
    check_timeout: float = Field(default=1.0, gt=0)
    failure_threshold: int = Field(default=2, ge=1, description="failed checks before critical")
    max_watch_seconds: float = Field(default=60.0, gt=0)
