"""Static settings of identity, read from ``IDENTITY_*`` environment variables."""

from __future__ import annotations

from typing import Annotated, ClassVar

from msgspec import Meta

from chassis import StatefulServiceSettings

__all__ = ["IdentitySettings"]


class IdentitySettings(StatefulServiceSettings, frozen=True, kw_only=True):
    """Issuer and audiences are the chassis's ``jwt_issuer``/``jwt_audience``/
    ``jwt_internal_audience``, so what identity signs is what every verifier expects."""

    SECRETS: ClassVar[frozenset[str]] = frozenset({"service_secret", "bootstrap_admin_password",
                                                   "signing_key_secret"})

    service_name: str = "identity"
    # the front end signs its visitors in here, and says which address each comes from (the
    # edge proved it to the front end): the login throttles count the visitor, not the front end
    edge_services: frozenset[str] = frozenset({"gateway", "web"})

    access_token_ttl_seconds: Annotated[int, Meta(ge=30, le=3600)] = 900
    service_token_ttl_seconds: Annotated[int, Meta(ge=30, le=3600)] = 300
    refresh_token_ttl_seconds: Annotated[int, Meta(ge=60)] = 30 * 24 * 3600

    login_max_failures: Annotated[int, Meta(ge=1, description="per account, in the window")] = 5
    login_max_failures_per_client: Annotated[
        int,
        Meta(
            ge=1,
            description="per client address, in the window; higher than per "
            "account because many people can share one address (an office, a NAT)",
        ),
    ] = 20
    login_window_seconds: Annotated[int, Meta(ge=1)] = 300
    login_lockout_seconds: Annotated[int, Meta(ge=1)] = 60

    # OWASP's argon2id minimum; raising one rehashes each password at its owner's next login
    password_time_cost: Annotated[int, Meta(ge=1)] = 2
    password_memory_kib: Annotated[int, Meta(ge=8)] = 19456
    password_parallelism: Annotated[int, Meta(ge=1)] = 1
    password_hash_workers: Annotated[
        int,
        Meta(
            ge=1,
            le=64,
            description="threads hashing passwords; each hash in flight "
            "holds password_memory_kib, so this bounds that memory (and the logins hashed at once)",
        ),
    ] = 2

    signing_key_secret: Annotated[str, Meta(description=(
        "encrypts the private signing keys in the database (the launcher generates one per "
        "deployment); required"))] = ""
    bootstrap_admin_email: str = ""
    bootstrap_admin_password: str = ""
    service_credentials_file: Annotated[
        str,
        Meta(description='JSON {"<service>": "<sha256 hex of its secret>"}; no service tokens when empty'),
    ] = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        if bool(self.bootstrap_admin_email) != bool(self.bootstrap_admin_password):
            raise ValueError("set both bootstrap_admin_email and bootstrap_admin_password, or neither")
