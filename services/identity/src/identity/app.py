"""Composition root of identity: settings → adapters → the use cases' context → the chassis app.

Identity verifies the tokens it receives with its own key store rather than a JWKS fetched over
HTTP (it is the JWKS), so the chassis builds no verifier for it and the lifespan sets one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from chassis import clock, create_service_app
from chassis.app import ServiceLifespan
from chassis.auth import ServiceCredentials, StaticJwks, TokenVerifier
from chassis.db import SqlUnitOfWork
from chassis.logging import get_logger
from chassis.problems import ProblemMap
from chassis.runtime import Runtime
from chassis.web import App
from identity.adapters.common_passwords import common_passwords
from identity.adapters.passwords import Argon2Hasher
from identity.adapters.rsa_keys import RsaSigner
from identity.adapters.sql import SqlIdentity
from identity.domain import errors
from identity.domain.throttle import ThrottlePolicy
from identity.domain.tokens import TokenPolicy
from identity.entrypoints import http
from identity.service import accounts, signing
from identity.service.context import IdentityContext
from identity.settings import IdentitySettings

__all__ = ["PROBLEMS", "create_app"]

# TooManyAttempts is not here: its answer carries Retry-After, so the login route builds it
PROBLEMS: ProblemMap = {
    errors.InvalidEmail: (422, "identity/invalid-email"),
    errors.WeakPassword: (422, "identity/weak-password"),
    errors.EmailTaken: (409, "identity/email-taken"),
    errors.InvalidCredentials: (401, "identity/invalid-credentials"),
    errors.InvalidRefreshToken: (401, "identity/invalid-refresh-token"),
    errors.InvalidServiceCredentials: (401, "identity/invalid-service-credentials"),
    errors.RotationConflict: (409, "identity/rotation-conflict"),
}

log = get_logger(__name__)


def create_app(settings: IdentitySettings | None = None) -> App:
    settings = settings or IdentitySettings.load()
    return create_service_app(
        settings, description="Accounts, log-in, access and refresh tokens, signing keys (JWKS), service "
                              "tokens, audit log.",
        routers=[http.router], problems=PROBLEMS,
        lifespan=_bootstrap(settings),
        verify_tokens=False)  # it verifies with its own key store, set in the lifespan


def _utc_now() -> datetime:
    return clock.now()  # skewed with this service's clock (clock_skew)


def _context(settings: IdentitySettings, runtime: Runtime,
             hasher: Argon2Hasher) -> IdentityContext:
    window = timedelta(seconds=settings.login_window_seconds)
    lockout = timedelta(seconds=settings.login_lockout_seconds)
    return IdentityContext(
        uow=SqlUnitOfWork(runtime.transaction, SqlIdentity), hasher=hasher,
        signer=RsaSigner(settings.signing_key_secret),
        clock=_utc_now,
        tokens=TokenPolicy(issuer=settings.jwt_issuer, audience=settings.jwt_audience,
                           internal_audience=settings.jwt_internal_audience,
                           access_ttl=settings.access_token_ttl_seconds,
                           service_ttl=settings.service_token_ttl_seconds,
                           refresh_ttl=settings.refresh_token_ttl_seconds),
        account_throttle=ThrottlePolicy(settings.login_max_failures, window, lockout),
        client_throttle=ThrottlePolicy(settings.login_max_failures_per_client, window, lockout),
        common_passwords=common_passwords(),
        service_credentials=ServiceCredentials.load(settings.service_credentials_file))


def _bootstrap(settings: IdentitySettings) -> ServiceLifespan:
    @asynccontextmanager
    async def lifespan(app: App, runtime: Runtime) -> AsyncIterator[None]:
        hasher = Argon2Hasher(time_cost=settings.password_time_cost,
                              memory_cost_kib=settings.password_memory_kib,
                              parallelism=settings.password_parallelism,
                              workers=settings.password_hash_workers)
        try:
            await hasher.start()
            identity = _context(settings, runtime, hasher)
            if sealed := await signing.seal_signing_keys(identity):
                log.info("signing keys stored in the clear are now encrypted", keys=sealed)
            kid = await signing.ensure_signing_key(identity)
            if settings.bootstrap_admin_email and await accounts.ensure_admin(
                    identity, email=settings.bootstrap_admin_email,
                    password=settings.bootstrap_admin_password):
                log.info("bootstrap admin created")  # the address and password stay out of logs
            app.provide(identity)

            async def own_jwks() -> dict[str, object]:
                return await signing.jwks(identity)

            # the key store is local, so an unknown kid (just rotated) may be looked up at once
            app.verifier = TokenVerifier(
                StaticJwks(own_jwks), issuer=settings.jwt_issuer, leeway=settings.jwt_leeway,
                audience=[settings.jwt_audience, settings.jwt_internal_audience],
                refetch_interval=0, refresh_interval=settings.jwks_refresh_seconds)
            log.info("identity ready", signing_kid=kid,
                     services_with_credentials=len(identity.service_credentials))
            yield
        finally:
            hasher.close()

    return lifespan
