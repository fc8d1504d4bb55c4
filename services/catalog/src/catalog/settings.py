"""Static settings of the catalog, read from ``CATALOG_*`` environment variables."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from chassis import StatefulServiceSettings

__all__ = ["CatalogSettings"]


class CatalogSettings(StatefulServiceSettings, frozen=True, kw_only=True):
    service_name: str = "catalog"
    seed_demo: Annotated[bool, Meta(description="insert the demo catalog at start (idempotent)")] = True
    price_callers: Annotated[
        frozenset[str],
        Meta(description="services allowed to call the internal price lookup (service tokens only)"),
    ] = frozenset({"cart", "orders"})
