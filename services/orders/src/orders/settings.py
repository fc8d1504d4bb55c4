"""Static settings of orders, read from ``ORDERS_*`` environment variables."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from chassis import StatefulServiceSettings
from chassis.live import ServiceLiveSettings
from chassis.settings import Timeout

__all__ = ["OrdersLive", "OrdersSettings"]

ReserveTimeout = Annotated[Timeout, Meta(description="seconds inventory has to answer ReserveStock")]
AuthorizeTimeout = Annotated[Timeout, Meta(description="seconds payments has to answer AuthorizePayment")]
CaptureTimeout = Annotated[Timeout, Meta(description="seconds before CapturePayment is sent again")]
CompensationTimeout = Annotated[Timeout, Meta(description="seconds before a void or release is re-sent")]


class OrdersSettings(StatefulServiceSettings, frozen=True, kw_only=True):
    service_name: str = "orders"
    # a crash of orders holds back the replies it had pulled for up to ~7 s (pull expiry + ack
    # wait); the reservation deadline leaves room for that
    reserve_timeout: ReserveTimeout = 15.0
    authorize_timeout: AuthorizeTimeout = 5.0
    capture_timeout: CaptureTimeout = 10.0
    # one round trip less per checkout (no CapturePayment/PaymentAuthorized, one transaction
    # less here and in payments); off: authorize, then capture in a step of its own
    capture_on_authorize: Annotated[
        bool, Meta(description="ask payments to capture in the same step as the authorization")
    ] = True
    compensation_timeout: CompensationTimeout = 5.0
    sweep_interval: Annotated[
        float, Meta(gt=0, le=60, description="how often overdue steps are looked for")
    ] = 0.25
    max_wait: Annotated[
        float, Meta(ge=0, le=60, description="longest `Prefer: wait=N` honoured, seconds")
    ] = 30.0
    max_waits_per_user: Annotated[
        int, Meta(ge=1, le=1000, description="long polls (`Prefer: wait`) and status streams one "
                                             "user holds at once in one instance; more get 429")
    ] = 10
    max_waits: Annotated[
        int, Meta(ge=1, le=100_000, description="long polls one instance holds at once, all users "
                                                "together; past it `Prefer: wait` is not applied "
                                                "(the order is answered at once)")
    ] = 2000
    max_streams: Annotated[
        int, Meta(ge=1, le=100_000, description="status streams one instance holds at once, all "
                                                "users together; more get 429 with Retry-After")
    ] = 2000


class OrdersLive(ServiceLiveSettings, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Live settings of orders: the saga's step deadlines (a step started after a change gets
    the new one; a step already waiting keeps the deadline stored with it)."""

    reserve_timeout: ReserveTimeout = 15.0
    authorize_timeout: AuthorizeTimeout = 5.0
    capture_timeout: CaptureTimeout = 10.0
    compensation_timeout: CompensationTimeout = 5.0
