"""Static settings of the inventory, read from ``INVENTORY_*`` environment variables."""

from __future__ import annotations

from typing import Annotated, ClassVar

from msgspec import Meta

from chassis import ServiceSettings

__all__ = ["InventorySettings"]


class InventorySettings(ServiceSettings, frozen=True, kw_only=True):
    ENV_PREFIX: ClassVar[str] = "INVENTORY_"

    service_name: str = "inventory"
    # the inventory cannot work without its database, so an empty URL is refused here
    database_url: Annotated[str, Meta(min_length=1)] = "sqlite:///var/data/inventory.db"
    reservation_ttl: Annotated[
        float, Meta(gt=0, le=7 * 86400, description="seconds a reservation holds stock")
    ] = 900.0
    sweep_interval: Annotated[
        float, Meta(gt=0, le=3600, description="seconds between sweeps for expired reservations")
    ] = 1.0
    sweep_batch: Annotated[
        int, Meta(ge=1, le=10_000, description="reservations expired per sweep transaction at most")
    ] = 500
    seed_from_catalog: Annotated[
        bool, Meta(description="stock every catalog SKU once at start (idempotent)")
    ] = True
    seed_quantity: Annotated[
        int, Meta(ge=0, le=10**12, description="units a newly seeded SKU starts with")
    ] = 100_000
