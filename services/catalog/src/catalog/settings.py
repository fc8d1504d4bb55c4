"""Static settings of the catalog, read from ``CATALOG_*`` environment variables."""

from __future__ import annotations

from typing import Annotated, ClassVar

from msgspec import Meta

from chassis import ServiceSettings

__all__ = ["CatalogSettings"]


class CatalogSettings(ServiceSettings, frozen=True, kw_only=True):
    ENV_PREFIX: ClassVar[str] = "CATALOG_"

    service_name: str = "catalog"
    # the catalog cannot work without its database, so an empty URL is refused here
    database_url: Annotated[str, Meta(min_length=1)] = "sqlite:///var/data/catalog.db"
    seed_demo: Annotated[bool, Meta(description="insert the demo catalog at start (idempotent)")] = True
    price_callers: Annotated[
        frozenset[str],
        Meta(description="services allowed to call the internal price lookup (service tokens only)"),
    ] = frozenset({"cart", "orders"})
