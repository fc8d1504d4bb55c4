"""Authentication for every service: token verification, FastAPI dependencies, service identity."""

from chassis.auth.deps import CurrentUser, Principal, authenticate, internal_caller, require_role
from chassis.auth.jwks import DiscoveredJwks, UrlJwks, verifier_from_settings
from chassis.auth.service_tokens import ServiceTokenClient
from chassis.auth.tokens import Claims, InvalidToken, JwksSource, StaticJwks, TokenVerifier

__all__ = ["Claims", "CurrentUser", "DiscoveredJwks", "InvalidToken", "JwksSource", "Principal",
           "ServiceTokenClient", "StaticJwks", "TokenVerifier", "UrlJwks", "authenticate",
           "internal_caller", "require_role", "verifier_from_settings"]
