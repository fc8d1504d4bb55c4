"""What identity's use cases and entrypoints share, built once by the composition root (app.py)."""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass

from chassis.auth import ServiceCredentials
from identity.domain.throttle import ThrottlePolicy
from identity.domain.tokens import TokenPolicy
from identity.service.ports import Clock, IdentityUnitOfWork, PasswordHasher, TokenSigner

__all__ = ["IdentityContext"]


@dataclass(frozen=True)
class IdentityContext:
    uow: IdentityUnitOfWork
    hasher: PasswordHasher
    signer: TokenSigner
    clock: Clock
    tokens: TokenPolicy
    account_throttle: ThrottlePolicy
    client_throttle: ThrottlePolicy
    common_passwords: Container[str]
    service_credentials: ServiceCredentials
