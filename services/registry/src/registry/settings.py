"""Registry settings (env prefix ``REGISTRY_``)."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from chassis import StatefulServiceSettings

__all__ = ["RegistrySettings"]


class RegistrySettings(StatefulServiceSettings, frozen=True, kw_only=True):
    service_name: str = "registry"
    port: int = 8500
    ttl: Annotated[float, Meta(gt=0, description="evict after this long without heartbeat")] = 10.0
    check_interval: Annotated[float, Meta(gt=0, description="seconds between health checks")] = 1.0
    check_timeout: Annotated[float, Meta(gt=0)] = 1.0
    failure_threshold: Annotated[int, Meta(ge=1, description="failed checks before critical")] = 2
    max_watch_seconds: Annotated[float, Meta(gt=0)] = 60.0
    keep_gone: Annotated[float, Meta(ge=0, le=86400, description=(
        "seconds an instance evicted for missing heartbeats stays in the Prometheus discovery, "
        "so that it shows as up == 0 (a graceful deregistration leaves at once)"))] = 300.0
    service_credentials_file: Annotated[str, Meta(description=(
        'JSON {"<service>": "<sha256 hex of its secret>"}: an instance registers, heartbeats and '
        "deregisters with its service's secret; when empty every registration is refused"))] = ""
