"""Static settings of the gateway (environment prefix ``GATEWAY_``)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from chassis.settings import ServiceSettings

__all__ = ["GatewaySettings", "packaged_routes_file"]


def packaged_routes_file() -> Path:
    """The route table shipped inside the package (``gateway/routes.toml``)."""
    return Path(str(resources.files("gateway").joinpath("routes.toml")))


class GatewaySettings(ServiceSettings):
    """Settings of the gateway; every field can be set as ``GATEWAY_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore", frozen=True)

    service_name: str = "gateway"
    port: int = Field(default=8080, ge=0, le=65535)
    routes_file: Path = Field(default_factory=packaged_routes_file,
                              description="TOML route table")
    upstream_timeout: float = Field(default=10.0, gt=0, le=300,
                                    description="seconds per attempt when a route sets none")
    connect_timeout: float = Field(default=1.0, gt=0, le=60)
    max_body_bytes: int = Field(default=1024 * 1024, ge=0, description="larger requests get 413")
    eject_seconds: float = Field(default=5.0, ge=0, le=300,
                                 description="how long a refusing instance is skipped")
    max_retries: int = Field(default=2, ge=0, le=5,
                             description="extra attempts after a refused connection")
    balancer: Literal["least_outstanding", "round_robin"] = "least_outstanding"
    pool_limit: int = Field(default=1024, ge=1, description="pooled upstream connections, total")
    # Below the upstreams' own keep-alive (uvicorn's default is 5 s), so the gateway is the side
    # that closes an idle connection and never reuses one the upstream is closing.
    upstream_keepalive: float = Field(default=4.0, gt=0, le=300)
