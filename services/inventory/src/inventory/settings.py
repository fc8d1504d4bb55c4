"""Static settings of the inventory, read from ``INVENTORY_*`` environment variables."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from chassis import StatefulServiceSettings
from chassis.settings import BatchSize, Interval

__all__ = ["InventorySettings"]


class InventorySettings(StatefulServiceSettings, frozen=True, kw_only=True):
    service_name: str = "inventory"
    reservation_ttl: Annotated[
        float, Meta(gt=0, le=7 * 86400, description="seconds a reservation holds stock")
    ] = 900.0
    sweep_interval: Annotated[
        Interval, Meta(description="seconds between sweeps for expired reservations")
    ] = 1.0
    sweep_batch: Annotated[
        BatchSize, Meta(description="reservations expired per sweep transaction at most")
    ] = 500
    seed_from_catalog: Annotated[
        bool, Meta(description="stock every catalog SKU once at start (idempotent)")
    ] = True
    seed_quantity: Annotated[
        int, Meta(ge=0, le=10**12, description="units a newly seeded SKU starts with")
    ] = 100_000
