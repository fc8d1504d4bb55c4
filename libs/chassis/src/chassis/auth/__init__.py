"""Authentication for every service: token verification, service identity, the caller.

Routes declare who may call them with :mod:`chassis.web.auth` (``auth=USER``, ``ADMIN``,
``services({...})``); this package verifies the tokens behind those declarations.
"""

from chassis.auth.credentials import ServiceCredentials
from chassis.auth.jwks import DiscoveredJwks, UrlJwks, verifier_from_settings
from chassis.auth.principal import Principal
from chassis.auth.service_tokens import ServiceTokenClient
from chassis.auth.tokens import Claims, InvalidToken, JwksSource, StaticJwks, TokenVerifier

__all__ = ["Claims", "DiscoveredJwks", "InvalidToken", "JwksSource", "Principal",
           "ServiceCredentials", "ServiceTokenClient", "StaticJwks", "TokenVerifier", "UrlJwks",
           "verifier_from_settings"]
