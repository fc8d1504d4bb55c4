"""Static settings of telemetry, read from ``TELEMETRY_*`` environment variables."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from chassis import StatefulServiceSettings
from chassis.settings import Interval

__all__ = ["TelemetrySettings"]


class TelemetrySettings(StatefulServiceSettings, frozen=True, kw_only=True):
    """Telemetry's settings. Besides the store's bounds, the tail-sampling ones: received spans are
    held per trace until the trace has settled (nothing new for ``settle_seconds``, or held
    ``max_hold_seconds``), then the trace is kept if a span failed, a span has ``souk.keep`` =
    true, it lasted ``slow_ms`` or more, or its trace id falls within ``keep_ratio``; else dropped.
    """

    service_name: str = "telemetry"
    max_traces: Annotated[int, Meta(ge=1, description="traces kept; the oldest go first")] = 20_000
    max_age_seconds: Annotated[float, Meta(gt=0, description="traces older are dropped")] = 3600
    prune_interval_seconds: Interval = 10
    max_body_bytes: Annotated[
        int, Meta(ge=1024, description="largest export request, before and after decompression (413 above)")
    ] = 16 * 1024 * 1024

    # --- tail sampling ---------------------------------------------------------------------
    keep_ratio: Annotated[
        float,
        Meta(
            ge=0,
            le=1,
            description="share of the other traces kept, by trace id (its low 64 bits < ratio x 2^64, "
            "as OpenTelemetry's TraceIdRatioBased sampler decides)",
        ),
    ] = 0.1
    slow_ms: Annotated[
        float,
        Meta(
            gt=0,
            le=86_400_000,
            description="a trace lasting this long (earliest start to latest end) is kept",
        ),
    ] = 500
    settle_seconds: Annotated[
        float,
        Meta(
            gt=0,
            le=600,
            description="a trace is decided once no span of it arrived for this long (services "
            "export every second: at least 1 s more than a trace's own span gaps)",
        ),
    ] = 3
    max_hold_seconds: Annotated[
        float,
        Meta(gt=0, le=3600, description="a trace still receiving spans is decided after this long anyway"),
    ] = 30
    max_held_spans: Annotated[
        int,
        Meta(
            ge=100,
            description="spans held in memory (~640 bytes each as OTLP/JSON, ~1.3 KB as protobuf); "
            "above, the traces that arrived first are decided at once",
        ),
    ] = 200_000
    remembered_decisions: Annotated[
        int,
        Meta(
            ge=0,
            description="decisions remembered (least recently used forgotten first) so that late "
            "spans follow their trace: stored if it was kept, dropped if not",
        ),
    ] = 50_000
    max_kept_per_second: Annotated[
        float,
        Meta(
            ge=0,
            description="traces stored per second at most, errors first (0: no cap); protects the "
            "store from a storm of failing traces",
        ),
    ] = 100

    # Telemetry never traces itself: exporting the spans of its own ingest would feed them back
    # to itself in a loop. Whatever the environment says, these stay off.
    otlp_endpoint: Annotated[str, Meta(description="always empty for telemetry")] = ""
    trace_sample_ratio: Annotated[float, Meta(description="always 0 for telemetry")] = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        msgspec.structs.force_setattr(self, "otlp_endpoint", "")
        msgspec.structs.force_setattr(self, "trace_sample_ratio", 0.0)
        if self.max_hold_seconds < self.settle_seconds:
            raise ValueError("max_hold_seconds must be at least settle_seconds")
