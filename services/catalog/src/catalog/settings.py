"""Static settings of the catalog, read from ``CATALOG_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from chassis import ServiceSettings

__all__ = ["CatalogSettings"]


class CatalogSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_", extra="ignore", frozen=True)

    service_name: str = "catalog"
    # the catalog cannot work without its database, so an empty URL is refused here
    database_url: str = Field(default="sqlite:///var/data/catalog.db", min_length=1)
    seed_demo: bool = Field(default=True,
                            description="insert the demo catalog at start (idempotent)")
    price_callers: frozenset[str] = Field(
        default=frozenset({"cart", "orders"}),
        description="services allowed to call the internal price lookup (service tokens only)")
