"""Static settings of identity, read from ``IDENTITY_*`` environment variables."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from chassis import ServiceSettings

__all__ = ["IdentitySettings"]


class IdentitySettings(ServiceSettings):
    """Issuer and audiences are the chassis's ``jwt_issuer``/``jwt_audience``/
    ``jwt_internal_audience``, so what identity signs is what every verifier expects."""

    model_config = SettingsConfigDict(env_prefix="IDENTITY_", extra="ignore", frozen=True)

    service_name: str = "identity"
    database_url: str = Field(default="sqlite:///var/data/identity.db", min_length=1)

    access_token_ttl_seconds: int = Field(default=900, ge=30, le=3600)
    service_token_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    refresh_token_ttl_seconds: int = Field(default=30 * 24 * 3600, ge=60)

    login_max_failures: int = Field(default=5, ge=1, description="per account, in the window")
    login_max_failures_per_client: int = Field(
        default=20, ge=1, description="per client address, in the window; higher than per "
        "account because many people can share one address (an office, a NAT)")
    login_window_seconds: int = Field(default=300, ge=1)
    login_lockout_seconds: int = Field(default=60, ge=1)

    # OWASP's argon2id minimum; raising one rehashes each password at its owner's next login
    password_time_cost: int = Field(default=2, ge=1)
    password_memory_kib: int = Field(default=19456, ge=8)
    password_parallelism: int = Field(default=1, ge=1)

    bootstrap_admin_email: str = ""
    bootstrap_admin_password: str = Field(default="", repr=False)
    service_credentials_file: str = Field(
        default="", description='JSON {"<service>": "<sha256 hex of its secret>"}; '
        "no service tokens when empty")

    @model_validator(mode="after")
    def _bootstrap_admin_complete(self) -> IdentitySettings:
        if bool(self.bootstrap_admin_email) != bool(self.bootstrap_admin_password):
            raise ValueError("set both bootstrap_admin_email and bootstrap_admin_password, or neither")
        return self
