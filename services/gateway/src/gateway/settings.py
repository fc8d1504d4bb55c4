"""Static settings of the gateway (environment prefix ``GATEWAY_``)."""

from __future__ import annotations

import ipaddress
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

import limits
from pydantic import Field, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from chassis.settings import ServiceSettings

__all__ = ["GatewaySettings", "Network", "packaged_routes_file"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


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
                                    description="deadline of a call when a route sets none")
    connect_timeout: float = Field(default=1.0, gt=0, le=60)
    max_body_bytes: int = Field(default=1024 * 1024, ge=0, description="larger requests get 413")
    eject_seconds: float = Field(default=5.0, ge=0, le=300,
                                 description="how long a refusing instance is skipped")
    max_retries: int = Field(default=2, ge=0, le=5,
                             description="extra attempts after a failed one, at most")
    balancer: Literal["least_outstanding", "round_robin"] = "least_outstanding"
    pool_limit: int = Field(default=1024, ge=1, description="pooled upstream connections, total")
    # Below the upstreams' own keep-alive (uvicorn's default is 5 s), so the gateway is the side
    # that closes an idle connection and never reuses one the upstream is closing.
    upstream_keepalive: float = Field(default=4.0, gt=0, le=300)

    # -- authentication (jwt_issuer, jwt_audience, jwt_leeway, jwks_url come from ServiceSettings;
    # an empty jwks_url means identity's JWKS, found through discovery)
    admin_allow: Annotated[tuple[Network, ...], NoDecode] = Field(
        default=(ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128")),
        description="comma-separated CIDRs from which admin routes may be called")

    # -- rate limits (the `limits` notation: "600/minute", "10/second;100/minute")
    rate_limit: str = Field(default="6000/minute",
                            description="per user when authenticated, else per client address")
    login_rate_limit: str = Field(default="10/minute",
                                  description="per client address on log-in and sign-up")
    redis_url: str = Field(default="", description="redis://host:port/db shared by every "
                                                   "gateway instance; in memory when empty")
    rate_limit_prefix: str = Field(default="souk-gateway", pattern=r"^[A-Za-z0-9_.:-]{1,64}$",
                                   description="key prefix in Redis")

    # -- per-service circuit breaker
    breaker_window: int = Field(default=50, ge=1, le=10_000, description="calls remembered")
    breaker_min_calls: int = Field(default=20, ge=1, description="before any ratio counts")
    breaker_failure_ratio: float = Field(default=0.5, gt=0, le=1)
    breaker_slow_ratio: float = Field(default=0.8, gt=0, le=1)
    breaker_slow_seconds: float = Field(default=5.0, gt=0, le=300)
    breaker_open_seconds: float = Field(default=5.0, gt=0, le=300)
    breaker_half_open_probes: int = Field(default=2, ge=1, le=100)

    # -- retries (idempotent methods only, once the request may have been sent)
    retry_base_delay: float = Field(default=0.05, ge=0, le=10)
    retry_max_delay: float = Field(default=1.0, ge=0, le=60)
    retry_budget_ratio: float = Field(default=0.2, ge=0, le=1,
                                      description="retries per request over the window")
    retry_budget_min: int = Field(default=10, ge=0, description="retries always allowed "
                                                                "per window")
    retry_budget_window: float = Field(default=10.0, gt=0, le=300)

    # -- passive outlier ejection
    eject_after_5xx: int = Field(default=5, ge=1, le=1000,
                                 description="consecutive 5xx that eject an instance")

    @field_validator("admin_allow", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("rate_limit", "login_rate_limit")
    @classmethod
    def _valid_limit(cls, value: str) -> str:
        try:
            limits.parse_many(value)
        except ValueError as exc:
            raise ValueError(f"not a rate limit ({exc})") from None
        return value

    @field_validator("redis_url")
    @classmethod
    def _valid_redis_url(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value
