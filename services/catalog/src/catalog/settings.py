"""Static settings of the catalog, read from ``CATALOG_*`` environment variables."""

from __future__ import annotations

from chassis import ServiceSettings
from pydantic import Field
from pydantic_settings import SettingsConfigDict

__all__ = ["CatalogSettings"]


class CatalogSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_", extra="ignore", frozen=True)

    service_name: str = "catalog"
    database_url: str = "sqlite:///var/data/catalog.db"
    seed_demo: bool = Field(default=True, description="insert the demo catalog at start (idempotent)")
