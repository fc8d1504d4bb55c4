"""Static settings of payments, read from ``PAYMENTS_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from chassis import ServiceSettings

__all__ = ["PaymentsSettings"]


class PaymentsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="PAYMENTS_", extra="ignore", frozen=True)

    service_name: str = "payments"
    # the ledger cannot work without its database, so an empty URL is refused here
    database_url: str = Field(default="sqlite:///var/data/payments.db", min_length=1)
    timeout_delay: float = Field(default=10.0, ge=0, le=3600,
                                 description="seconds before the processor answers tok_timeout")
    decline_rate: float = Field(default=0.0, ge=0, le=1,
                                description="share of good cards the processor declines at random")
    latency_ms: int = Field(default=0, ge=0, le=60_000,
                            description="delay of every processor answer (0: answers inline)")
    max_pending_authorizations: int = Field(
        default=1000, ge=1, le=100_000,
        description="processor calls awaited at once; more wait for the sweep")
    pending_sweep_interval: float = Field(
        default=5.0, gt=0, le=600, description="seconds between looks for pending payments")
