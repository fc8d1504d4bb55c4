"""Static settings of the cart, read from ``CART_*`` environment variables."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from chassis import StatefulServiceSettings

__all__ = ["CartSettings"]


class CartSettings(StatefulServiceSettings, frozen=True, kw_only=True):
    service_name: str = "cart"
    default_currency: Annotated[str, Meta(pattern=r"^[A-Z]{3}$", description="currency of an empty cart")] = (
        "EUR"
    )
    price_fresh_seconds: Annotated[
        float,
        Meta(
            ge=0, le=3600, description="a cached price younger than this is used without asking the catalog"
        ),
    ] = 5.0
    price_max_stale_seconds: Annotated[
        float,
        Meta(
            gt=0, description="the oldest cached price still served (flagged stale) while the catalog is away"
        ),
    ] = 3600.0
    price_cache_entries: Annotated[int, Meta(ge=1)] = 10_000
    catalog_url: Annotated[
        str,
        Meta(
            description="fixed catalog URL (Kubernetes Service, "
            "tests); discovery through the registry "
            "when empty"
        ),
    ] = ""
    catalog_timeout: Annotated[float, Meta(gt=0, le=30, description="per attempt, seconds")] = 1.0
    catalog_deadline: Annotated[float, Meta(gt=0, le=60, description="whole call, seconds")] = 2.0
    catalog_max_retries: Annotated[int, Meta(ge=0, le=5)] = 2
    catalog_max_in_flight: Annotated[int, Meta(ge=1, description="bulkhead")] = 64
    breaker_window: Annotated[int, Meta(ge=1)] = 20
    breaker_min_calls: Annotated[int, Meta(ge=1)] = 5
    breaker_failure_ratio: Annotated[float, Meta(gt=0, le=1)] = 0.5
    breaker_open_seconds: Annotated[float, Meta(gt=0, le=300)] = 5.0
