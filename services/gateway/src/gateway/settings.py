"""Static settings of the gateway (environment prefix ``GATEWAY_``)."""

from __future__ import annotations

import ipaddress
from importlib import resources
from pathlib import Path
from typing import Annotated, ClassVar, Literal

import limits
import msgspec
from msgspec import Meta

from chassis.live import LiveSettings
from chassis.settings import ServiceSettings, Share
from gateway.cors import ORIGIN_PATTERN, check_origins

__all__ = ["GatewayLive", "GatewaySettings", "Network", "packaged_routes_file"]

# the `limits` notation, checked by its parser too (RATE_LIMITS_VALID): "600/minute",
# "10/second;100/minute", "5 per 2 seconds"
# an amount of 0 is refused: a limit that grants nothing would divide by its rate of 0
_RATE = (r"0*[1-9]\d*\s*(?:/|per)\s*(?:0*[1-9]\d*\s*)?(?:second|minute|hour|day|month|year)s?")
RateLimit = Annotated[str, Meta(pattern=rf"^\s*{_RATE}(?:\s*[;,|]\s*{_RATE})*\s*$")]
UpstreamTimeout = Annotated[float, Meta(gt=0, le=300, description=(
    "deadline of a call when a route sets none"))]
MaxRetries = Annotated[int, Meta(ge=0, le=5, description="extra attempts after a failed one, at most")]
EjectSeconds = Annotated[float, Meta(ge=0, le=300, description="how long a refusing instance is skipped")]
EjectAfter = Annotated[int, Meta(ge=1, le=1000, description="consecutive 5xx that eject an instance")]
MinCalls = Annotated[int, Meta(ge=1, le=1_000_000, description="before any ratio counts")]
Ratio = Annotated[float, Meta(gt=0, le=1)]
Seconds = Annotated[float, Meta(gt=0, le=300)]
Probes = Annotated[int, Meta(ge=1, le=100)]
BudgetRatio = Annotated[Share, Meta(description="retries per request over the window")]
BudgetMin = Annotated[int, Meta(ge=0, le=1_000_000, description="retries always allowed per window")]
CorsOrigins = Annotated[tuple[Annotated[str, Meta(pattern=ORIGIN_PATTERN)], ...], Meta(description=(
    "origins (scheme://host[:port]) whose pages may call the API from a browser, or * for any; "
    "none: no CORS (gateway.cors)"))]


def _check_rate_limits(settings: object) -> None:
    for name in ("rate_limit", "login_rate_limit"):
        try:
            parsed = limits.parse_many(getattr(settings, name))
        except ValueError as exc:
            raise ValueError(f"{name}: not a rate limit ({exc})") from None
        if any(item.amount < 1 or item.get_expiry() < 1 for item in parsed):
            raise ValueError(f"{name}: a limit grants at least one call a period")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def packaged_routes_file() -> Path:
    """The route table shipped inside the package (``gateway/routes.toml``)."""
    return Path(str(resources.files("gateway").joinpath("routes.toml")))


class GatewaySettings(ServiceSettings, frozen=True, kw_only=True):
    """Settings of the gateway; every field can be set as ``GATEWAY_<NAME>``."""

    ENV_PREFIX: ClassVar[str] = "GATEWAY_"

    service_name: str = "gateway"
    port: Annotated[int, Meta(ge=0, le=65535)] = 8080
    routes_file: Annotated[
        str, Meta(description="TOML route table; the one packaged with the gateway when empty")
    ] = ""
    upstream_timeout: UpstreamTimeout = 10.0
    connect_timeout: Annotated[float, Meta(gt=0, le=60)] = 1.0
    max_body_bytes: Annotated[int, Meta(ge=0, description="larger requests get 413")] = 1024 * 1024
    max_header_bytes: Annotated[
        int, Meta(ge=1024, le=1024 * 1024, description="request head (headers) larger than this get 431")
    ] = 16 * 1024
    max_headers: Annotated[int, Meta(ge=8, le=1000, description="more headers get 431")] = 100
    keepalive_timeout: Annotated[
        float, Meta(gt=0, le=3600, description="an idle client connection closes after this")
    ] = 30.0
    request_timeout: Annotated[
        float, Meta(gt=0, le=3600, description="a request must arrive whole within this (408)")
    ] = 30.0
    shutdown_timeout: Annotated[
        float, Meta(ge=0, le=300, description="on SIGTERM, how long requests in flight may take to finish")
    ] = 5.0
    eject_seconds: EjectSeconds = 5.0
    max_retries: MaxRetries = 2
    balancer: Literal["least_outstanding", "round_robin"] = "least_outstanding"
    pool_limit: Annotated[int, Meta(ge=1, description="pooled upstream connections, total")] = 1024
    # Below the upstreams' own keep-alive (uvicorn's default is 5 s), so the gateway is the side
    # that closes an idle connection and never reuses one the upstream is closing.
    upstream_keepalive: Annotated[float, Meta(gt=0, le=300)] = 4.0

    # -- authentication (jwt_issuer, jwt_audience, jwt_leeway, jwks_url come from ServiceSettings;
    # an empty jwks_url means identity's JWKS, found through discovery)
    admin_allow: Annotated[
        tuple[str, ...], Meta(description="comma-separated CIDRs from which admin routes may be called")
    ] = ("127.0.0.1/32", "::1/128")
    # the edge is public: its own counters (routes, latencies, rate limits, breakers) are served
    # to the addresses a scraper has (loopback, and the private ranges a cluster or a compose
    # network uses), not to the internet (with externalTrafficPolicy Local, the client's own)
    metrics_allow: Annotated[
        tuple[str, ...], Meta(description="comma-separated CIDRs from which /metrics may be read")
    ] = ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")

    # -- rate limits (the `limits` notation: "600/minute", "10/second;100/minute")
    rate_limit: Annotated[RateLimit, Meta(description=(
        "per user when authenticated, else per client address (the limits notation: "
        "600/minute, 10/second;100/minute)"))] = "6000/minute"
    login_rate_limit: Annotated[RateLimit, Meta(description=(
        "per client address on log-in and sign-up (the limits notation)"))] = "10/minute"
    redis_url: Annotated[
        str, Meta(description="redis://host:port/db shared by every gateway instance; in memory when empty")
    ] = ""
    rate_limit_prefix: Annotated[
        str, Meta(pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="key prefix in Redis")
    ] = "souk-gateway"

    # -- per-service circuit breaker
    breaker_window: Annotated[int, Meta(ge=1, le=10_000, description="calls remembered")] = 50
    breaker_min_calls: MinCalls = 20
    breaker_failure_ratio: Ratio = 0.5
    breaker_slow_ratio: Ratio = 0.8
    breaker_slow_seconds: Seconds = 5.0
    breaker_open_seconds: Seconds = 5.0
    breaker_half_open_probes: Probes = 2

    # -- retries (idempotent methods only, once the request may have been sent)
    retry_base_delay: Annotated[float, Meta(ge=0, le=10)] = 0.05
    retry_max_delay: Annotated[float, Meta(ge=0, le=60)] = 1.0
    retry_budget_ratio: BudgetRatio = 0.2
    retry_budget_min: BudgetMin = 10
    retry_budget_window: Annotated[float, Meta(gt=0, le=300)] = 10.0

    # -- early rejection when an upstream is saturated (docs/decisions.md "Overload protection")
    max_outstanding_per_instance: Annotated[int, Meta(ge=0, le=100_000, description=(
        "requests outstanding to a service, per healthy instance of it, past which the gateway "
        "answers 503 + Retry-After without forwarding (0: no cap); above the services' own "
        "max_concurrency, so they shed by priority first"))] = 128

    # -- passive outlier ejection
    eject_after_5xx: EjectAfter = 5

    # -- CORS (gateway.cors): comma-separated origins, "*" for any; none: off
    cors_origins: CorsOrigins = ()
    cors_max_age: Annotated[int, Meta(ge=0, le=86_400, description=(
        "seconds a browser may remember a preflight's answer"))] = 600

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.cors_origins, str):  # a test's or an operator's "a, b"
            msgspec.structs.force_setattr(self, "cors_origins", tuple(
                part.strip() for part in self.cors_origins.split(",") if part.strip()))
        check_origins(self.cors_origins)
        for name in ("admin_allow", "metrics_allow"):
            cidrs = getattr(self, name)
            if isinstance(cidrs, str):  # a test's or an operator's "a, b"
                cidrs = tuple(part.strip() for part in cidrs.split(",") if part.strip())
                msgspec.structs.force_setattr(self, name, cidrs)
            for cidr in cidrs:
                try:
                    ipaddress.ip_network(cidr)
                except ValueError as exc:
                    raise ValueError(f"{name}: {exc}") from None
        _check_rate_limits(self)
        if self.redis_url and not self.redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("redis_url: must be a redis://, rediss:// or unix:// URL")

    def admin_networks(self) -> tuple[Network, ...]:
        """``admin_allow`` parsed."""
        return tuple(ipaddress.ip_network(cidr) for cidr in self.admin_allow)

    def metrics_networks(self) -> tuple[Network, ...]:
        """``metrics_allow`` parsed."""
        return tuple(ipaddress.ip_network(cidr) for cidr in self.metrics_allow)

    def routes_path(self) -> Path:
        return Path(self.routes_file) if self.routes_file else packaged_routes_file()


class GatewayLive(LiveSettings, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Live settings of the gateway (``souk config set gateway.rate_limit 100/minute``); they
    start from the static ones of the same names. A new rate limit applies at once (a bucket
    holds no more than the new amount); a breaker or budget change applies to every upstream's,
    a timeout to the next request."""

    rate_limit: Annotated[RateLimit, Meta(description=(
        "per user when authenticated, else per client address (the limits notation: "
        "600/minute, 10/second;100/minute)"))] = "6000/minute"
    login_rate_limit: Annotated[RateLimit, Meta(description=(
        "per client address on log-in and sign-up (the limits notation)"))] = "10/minute"
    upstream_timeout: UpstreamTimeout = 10.0
    max_retries: MaxRetries = 2
    eject_seconds: EjectSeconds = 5.0
    eject_after_5xx: EjectAfter = 5
    breaker_min_calls: MinCalls = 20
    breaker_failure_ratio: Ratio = 0.5
    breaker_slow_ratio: Ratio = 0.8
    breaker_slow_seconds: Seconds = 5.0
    breaker_open_seconds: Seconds = 5.0
    breaker_half_open_probes: Probes = 2
    retry_budget_ratio: BudgetRatio = 0.2
    retry_budget_min: BudgetMin = 10
    max_outstanding_per_instance: Annotated[int, Meta(ge=0, le=100_000, description=(
        "requests outstanding to a service per healthy instance of it, past which the gateway "
        "answers 503 + Retry-After without forwarding (0: no cap)"))] = 128
    cors_origins: CorsOrigins = ()

    def __post_init__(self) -> None:
        _check_rate_limits(self)
        check_origins(self.cors_origins)
