"""Static settings of the cart, read from ``CART_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from chassis import ServiceSettings

__all__ = ["CartSettings"]


class CartSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CART_", extra="ignore", frozen=True)

    service_name: str = "cart"
    database_url: str = Field(default="sqlite:///var/data/cart.db", min_length=1)
    default_currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$",
                                  description="currency of an empty cart")
    price_fresh_seconds: float = Field(default=5.0, ge=0, le=3600,
                                       description="a cached price younger than this is used "
                                                   "without asking the catalog")
    price_max_stale_seconds: float = Field(default=3600.0, gt=0,
                                           description="the oldest cached price still served "
                                                       "(flagged stale) while the catalog is away")
    price_cache_entries: int = Field(default=10_000, ge=1)
    catalog_url: str = Field(default="", description="fixed catalog URL (Kubernetes Service, "
                                                     "tests); discovery through the registry "
                                                     "when empty")
    catalog_timeout: float = Field(default=1.0, gt=0, le=30, description="per attempt, seconds")
    catalog_deadline: float = Field(default=2.0, gt=0, le=60, description="whole call, seconds")
    catalog_max_retries: int = Field(default=2, ge=0, le=5)
    catalog_max_in_flight: int = Field(default=64, ge=1, description="bulkhead")
    breaker_window: int = Field(default=20, ge=1)
    breaker_min_calls: int = Field(default=5, ge=1)
    breaker_failure_ratio: float = Field(default=0.5, gt=0, le=1)
    breaker_open_seconds: float = Field(default=5.0, gt=0, le=300)
