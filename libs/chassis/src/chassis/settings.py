"""Static settings shared by every service; each service subclasses with its own env prefix."""

from __future__ import annotations

import socket
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["ServiceSettings"]


class ServiceSettings(BaseSettings):
    """Settings every service has. A service declares
    ``model_config = SettingsConfigDict(env_prefix="CATALOG_")`` and adds its own fields.

    Values come from the environment (``<PREFIX>PORT``, ``<PREFIX>DATABASE_URL`` …) or from keyword
    arguments in tests; nothing else in a service reads ``os.environ``.
    """

    model_config = SettingsConfigDict(env_prefix="SOUK_", extra="ignore", frozen=True)

    service_name: str = Field(default="service", description="logical service name")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    instance_id: str = Field(default="", description="unique per process; derived when empty")
    advertise_url: str = Field(default="", description="URL others use; http://host:port when empty")
    database_url: str = Field(default="", description="sqlite:///path or postgresql://…; none when empty")
    nats_url: str = Field(default="", description="nats://host:port; no broker when empty")
    registry_url: str = Field(default="", description="http://host:port of the registry; none when empty")
    heartbeat_interval: float = Field(default=2.0, gt=0, le=60)
    jwt_issuer: str = "souk-identity"
    jwt_audience: str = Field(default="souk", description="audience of user access tokens")
    jwt_internal_audience: str = Field(default="souk-internal", description="of service tokens")
    jwt_leeway: float = Field(default=60.0, ge=0, le=60, description="clock skew allowed, seconds")
    jwks_url: str = Field(default="", description="fixed JWKS URL; found through discovery if empty")
    service_secret: str = Field(default="", repr=False,
                                description="this service's credential for a service token")
    otlp_endpoint: str = Field(default="", description=(
        "base URL of an OTLP/HTTP trace receiver (spans go to <url>/v1/traces); tracing is off "
        "when empty"))
    trace_sample_ratio: float = Field(default=1.0, ge=0.0, le=1.0, description=(
        "share of new traces recorded (parent-based: a traced request stays traced downstream)"))
    fault_dir: str = Field(default="", description="folder of armed crash points (tests); none when empty")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "json"

    @model_validator(mode="after")
    def _derive_defaults(self) -> ServiceSettings:
        # frozen model: fill derived values through object.__setattr__ once, at validation time
        if not self.instance_id:
            derived = f"{self.service_name}-{socket.gethostname()}-{self.port}"
            object.__setattr__(self, "instance_id", derived)
        if not self.advertise_url:
            host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
            object.__setattr__(self, "advertise_url", f"http://{host}:{self.port}")
        return self
