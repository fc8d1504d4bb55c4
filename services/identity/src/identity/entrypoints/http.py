"""Identity's HTTP API under ``/v1`` (the gateway serves it as ``/api/v1/identity/…``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from chassis.auth import CurrentUser, Principal, require_role
from chassis.problems import Problem
from identity.domain.errors import TooManyAttempts
from identity.entrypoints.schemas import (
    AccessTokenOut,
    AuditEventOut,
    AuditPageOut,
    Credentials,
    KeyRotatedOut,
    RefreshIn,
    ServiceCredentials,
    TokenPairOut,
    UserOut,
    problem_responses,
)
from identity.service import accounts, audit, service_tokens, sessions, signing
from identity.service.ports import IdentityDeps

__all__ = ["DEPS_KEY", "router"]

DEPS_KEY = "identity"
JWKS_MAX_AGE = 60


async def get_deps(request: Request) -> IdentityDeps:
    deps = request.app.state.runtime.extras[DEPS_KEY]
    assert isinstance(deps, IdentityDeps)
    return deps


Deps = Annotated[IdentityDeps, Depends(get_deps)]
Admin = Annotated[Principal, Depends(require_role("admin"))]

router = APIRouter(prefix="/v1", tags=["identity"])


def _client(request: Request) -> str:
    # behind the gateway, uvicorn's proxy-header support has already put the real client here
    return request.client.host if request.client else "unknown"


@router.post("/signup", status_code=201, responses=problem_responses({
    409: "an account has this email (identity/email-taken)",
    422: "invalid email (identity/invalid-email) or password (identity/weak-password)"}))
async def sign_up(body: Credentials, deps: Deps) -> UserOut:
    """Create a customer account. Any field besides email and password is ignored."""
    return UserOut.of(await accounts.sign_up(deps, email=body.email, password=body.password))


@router.post("/login", responses=problem_responses({
    401: "unknown email or wrong password, one answer for both (identity/invalid-credentials)",
    429: "too many failed logins for this account or client (identity/too-many-attempts)"}))
async def log_in(body: Credentials, request: Request, deps: Deps) -> TokenPairOut:
    try:
        pair = await sessions.log_in(deps, email=body.email, password=body.password,
                                     client=_client(request))
    except TooManyAttempts as exc:
        raise Problem(429, "identity/too-many-attempts", str(exc),
                      headers={"Retry-After": str(exc.retry_after)}) from None
    return TokenPairOut(access_token=pair.access_token, expires_in=pair.expires_in,
                        refresh_token=pair.refresh_token)


@router.post("/refresh", responses=problem_responses({
    401: "unknown, expired, revoked or reused token (identity/invalid-refresh-token)"}))
async def refresh(body: RefreshIn, request: Request, deps: Deps) -> TokenPairOut:
    pair = await sessions.refresh(deps, refresh_token=body.refresh_token, client=_client(request))
    return TokenPairOut(access_token=pair.access_token, expires_in=pair.expires_in,
                        refresh_token=pair.refresh_token)


@router.post("/logout", status_code=204)
async def log_out(body: RefreshIn, request: Request, deps: Deps) -> Response:
    """Revoke the refresh token and every token rotated from the same login."""
    await sessions.log_out(deps, refresh_token=body.refresh_token, client=_client(request))
    return Response(status_code=204)


@router.get("/me", responses=problem_responses({401: "no valid access token"}))
async def me(user: CurrentUser, deps: Deps) -> UserOut:
    return UserOut.of(await accounts.profile(deps, user.id))


@router.get("/jwks")
async def jwks(deps: Deps) -> JSONResponse:
    """Public keys that verify identity's tokens (the active key and recently retired ones)."""
    return JSONResponse(await signing.jwks(deps),
                        headers={"Cache-Control": f"max-age={JWKS_MAX_AGE}"})


@router.post("/keys/rotate", responses=problem_responses({
    401: "no valid access token", 403: "not an admin",
    409: "a concurrent rotation won (identity/rotation-conflict)"}))
async def rotate_key(admin: Admin, deps: Deps) -> KeyRotatedOut:
    """New tokens are signed with a new key; tokens signed before stay valid until they expire."""
    return KeyRotatedOut(kid=await signing.rotate_signing_key(deps, actor=admin.id))


@router.get("/audit", responses=problem_responses({
    401: "no valid access token", 403: "not an admin"}))
async def audit_log(_: Admin, deps: Deps, limit: Annotated[int, Query(
        ge=1, le=audit.MAX_AUDIT_PAGE)] = 100) -> AuditPageOut:
    """Recent security events, newest first."""
    events = await audit.recent_events(deps, limit)
    return AuditPageOut(items=[AuditEventOut.of(event) for event in events])


@router.post("/service-tokens", responses=problem_responses({
    401: "unknown service or wrong secret (identity/invalid-service-credentials)"}))
async def service_token(body: ServiceCredentials, request: Request, deps: Deps) -> AccessTokenOut:
    """Trade a service's credentials for a short-lived service token."""
    token = await service_tokens.issue_service_token(deps, service=body.service, secret=body.secret,
                                                     client=_client(request))
    return AccessTokenOut(access_token=token.access_token, expires_in=token.expires_in)
