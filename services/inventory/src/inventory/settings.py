"""Static settings of the inventory, read from ``INVENTORY_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from chassis import ServiceSettings

__all__ = ["InventorySettings"]


class InventorySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INVENTORY_", extra="ignore", frozen=True)

    service_name: str = "inventory"
    # the inventory cannot work without its database, so an empty URL is refused here
    database_url: str = Field(default="sqlite:///var/data/inventory.db", min_length=1)
    reservation_ttl: float = Field(default=900.0, gt=0, le=7 * 86400,
                                   description="seconds a reservation holds stock")
    sweep_interval: float = Field(default=1.0, gt=0, le=3600,
                                  description="seconds between sweeps for expired reservations")
    sweep_batch: int = Field(default=500, ge=1, le=10_000,
                             description="reservations expired per sweep transaction at most")
    seed_from_catalog: bool = Field(
        default=True, description="stock every catalog SKU once at start (idempotent)")
    seed_quantity: int = Field(default=100_000, ge=0, le=10**12,
                               description="units a newly seeded SKU starts with")
    catalog_url: str = Field(
        default="", description="fixed catalog base URL for seeding; found through discovery "
                                "when empty")
