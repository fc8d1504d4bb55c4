"""Static settings of orders, read from ``ORDERS_*`` environment variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from chassis import ServiceSettings

__all__ = ["OrdersSettings"]


class OrdersSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ORDERS_", extra="ignore", frozen=True)

    service_name: str = "orders"
    database_url: str = Field(default="sqlite:///var/data/orders.db", min_length=1)
    # a crash of orders holds back the replies it had pulled for up to ~7 s (pull expiry + ack
    # wait); the reservation deadline leaves room for that
    reserve_timeout: float = Field(default=15.0, gt=0, le=600,
                                   description="seconds inventory has to answer ReserveStock")
    authorize_timeout: float = Field(default=5.0, gt=0, le=600,
                                     description="seconds payments has to answer AuthorizePayment")
    capture_timeout: float = Field(default=10.0, gt=0, le=600,
                                   description="seconds before CapturePayment is sent again")
    compensation_timeout: float = Field(default=5.0, gt=0, le=600,
                                        description="seconds before a void or release is re-sent")
    sweep_interval: float = Field(default=0.25, gt=0, le=60,
                                  description="how often overdue steps are looked for")
    max_wait: float = Field(default=30.0, ge=0, le=60,
                            description="longest `Prefer: wait=N` honoured, seconds")
