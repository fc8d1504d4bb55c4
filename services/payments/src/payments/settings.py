"""Static settings of payments, read from ``PAYMENTS_*`` environment variables."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from chassis import StatefulServiceSettings
from chassis.live import ServiceLiveSettings
from chassis.settings import Share

__all__ = ["PaymentsLive", "PaymentsSettings"]

DeclineRate = Annotated[Share, Meta(description="share of good cards the processor declines at random")]
LatencyMs = Annotated[int, Meta(ge=0, le=60_000, description="delay of every processor answer")]


class PaymentsSettings(StatefulServiceSettings, frozen=True, kw_only=True):
    service_name: str = "payments"
    timeout_delay: Annotated[
        float, Meta(ge=0, le=3600, description="seconds before the processor answers tok_timeout")
    ] = 10.0
    decline_rate: DeclineRate = 0.0
    latency_ms: LatencyMs = 0
    max_pending_authorizations: Annotated[
        int, Meta(ge=1, le=100_000, description="processor calls awaited at once; more wait for the sweep")
    ] = 1000
    claim_lease: Annotated[
        float, Meta(gt=0, le=86400, description="seconds a pending payment stays claimed by the "
                    "instance asking the processor for it (renewed at each sweep while it waits)")
    ] = 60.0
    pending_sweep_interval: Annotated[
        float, Meta(gt=0, le=600, description="seconds between looks for pending payments")
    ] = 5.0


class PaymentsLive(ServiceLiveSettings, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Live settings of payments (``souk config set payments.decline_rate 0.5``); they start from
    the static ones of the same names."""

    decline_rate: DeclineRate = 0.0
    latency_ms: LatencyMs = 0
