"""Composition root of identity: settings → adapters → use cases → chassis app and router."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi import FastAPI

from chassis import create_service_app
from chassis.app import ServiceLifespan
from chassis.auth import StaticJwks, TokenVerifier
from chassis.logging import get_logger
from chassis.problems import ProblemMap
from chassis.runtime import Runtime
from identity.adapters.common_passwords import common_passwords
from identity.adapters.passwords import Argon2Hasher
from identity.adapters.rsa_keys import RsaSigner
from identity.adapters.service_credentials import load_service_credentials
from identity.adapters.sql import SqlUnitOfWork
from identity.domain.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidEmail,
    InvalidRefreshToken,
    InvalidServiceCredentials,
    RotationConflict,
    WeakPassword,
)
from identity.domain.throttle import ThrottlePolicy
from identity.domain.tokens import TokenPolicy
from identity.entrypoints import http
from identity.service import accounts, signing
from identity.service.ports import IdentityDeps
from identity.settings import IdentitySettings

__all__ = ["MIGRATIONS", "PROBLEMS", "build_deps", "create_app"]

MIGRATIONS = Path(__file__).parent / "migrations"

PROBLEMS: ProblemMap = {
    InvalidEmail: (422, "identity/invalid-email"),
    WeakPassword: (422, "identity/weak-password"),
    EmailTaken: (409, "identity/email-taken"),
    InvalidCredentials: (401, "identity/invalid-credentials"),
    InvalidRefreshToken: (401, "identity/invalid-refresh-token"),
    InvalidServiceCredentials: (401, "identity/invalid-service-credentials"),
    RotationConflict: (409, "identity/rotation-conflict"),
}

log = get_logger(__name__)


def create_app(settings: IdentitySettings | None = None) -> FastAPI:
    settings = settings or IdentitySettings()
    app = create_service_app(
        settings, title="Souk identity",
        description="Accounts, log-in, access and refresh tokens, signing keys (JWKS), audit log.",
        problems=PROBLEMS, migrations=MIGRATIONS, lifespan=_start(settings),
        use_broker=False,  # identity publishes and consumes no messages yet
        verify_tokens=False)  # it verifies with its own key store, set in _start
    app.include_router(http.router)
    return app


def _utc_now() -> datetime:
    return datetime.now(UTC)


def build_deps(settings: IdentitySettings, runtime: Runtime) -> IdentityDeps:
    def seconds(value: int) -> timedelta:
        return timedelta(seconds=value)

    window, lockout = seconds(settings.login_window_seconds), seconds(settings.login_lockout_seconds)
    return IdentityDeps(
        uow=SqlUnitOfWork(runtime.require_db()),
        hasher=Argon2Hasher(time_cost=settings.password_time_cost,
                            memory_cost_kib=settings.password_memory_kib,
                            parallelism=settings.password_parallelism),
        signer=RsaSigner(), clock=_utc_now,
        tokens=TokenPolicy(issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                           internal_audience=settings.jwt_internal_audience,
                           access_ttl=settings.access_token_ttl_seconds,
                           service_ttl=settings.service_token_ttl_seconds,
                           refresh_ttl=settings.refresh_token_ttl_seconds),
        account_throttle=ThrottlePolicy(settings.login_max_failures, window, lockout),
        client_throttle=ThrottlePolicy(settings.login_max_failures_per_client, window, lockout),
        common_passwords=common_passwords(),
        service_credentials=load_service_credentials(settings.service_credentials_file))


def _start(settings: IdentitySettings) -> ServiceLifespan:
    @asynccontextmanager
    async def lifespan(app: FastAPI, runtime: Runtime) -> AsyncIterator[None]:
        deps = build_deps(settings, runtime)
        kid = await signing.ensure_signing_key(deps)
        if settings.bootstrap_admin_email and await accounts.ensure_admin(
                deps, email=settings.bootstrap_admin_email,
                password=settings.bootstrap_admin_password):
            log.info("bootstrap admin created")  # the address and password stay out of logs
        runtime.extras[http.DEPS_KEY] = deps

        async def own_jwks() -> dict[str, object]:
            return await signing.jwks(deps)

        # the key store is local, so an unknown kid (just rotated) may be looked up at once
        runtime.verifier = TokenVerifier(
            StaticJwks(own_jwks), issuer=settings.jwt_issuer, leeway=settings.jwt_leeway,
            audience=[settings.jwt_audience, settings.jwt_internal_audience], refetch_interval=0)
        log.info("identity ready", signing_kid=kid,
                 services_with_credentials=len(deps.service_credentials))
        yield

    return lifespan
