"""The claims of the tokens identity issues: the contract the chassis verifier relies on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["SERVICE_ROLE", "TokenPolicy", "access_claims", "service_claims", "service_subject"]

SERVICE_ROLE = "service"


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    issuer: str
    audience: str
    internal_audience: str
    access_ttl: int  # seconds
    service_ttl: int  # seconds
    refresh_ttl: int  # seconds


def access_claims(policy: TokenPolicy, *, user_id: str, roles: tuple[str, ...], now: int,
                  token_id: str) -> dict[str, Any]:
    """A user's access token: who, which roles, for how long. No email or other personal data:
    tokens travel through logs and browser storage."""
    return {"iss": policy.issuer, "aud": policy.audience, "sub": user_id, "iat": now,
            "nbf": now, "exp": now + policy.access_ttl, "jti": token_id, "roles": list(roles)}


def service_subject(service: str) -> str:
    return f"service:{service}"


def service_claims(policy: TokenPolicy, *, service: str, now: int,
                   token_id: str) -> dict[str, Any]:
    """A service token: a separate audience, so it can never pass as a user's token."""
    return {"iss": policy.issuer, "aud": policy.internal_audience,
            "sub": service_subject(service), "svc": service, "iat": now, "nbf": now,
            "exp": now + policy.service_ttl, "jti": token_id, "roles": [SERVICE_ROLE]}
