"""Identity's HTTP API under ``/v1`` (the gateway serves it as ``/api/v1/identity/…``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from chassis.pagination import CursorCodec, CursorParam, InvalidCursor, Page
from chassis.problems import Problem
from chassis.web import (
    ADMIN,
    USER,
    ClientAddress,
    Principal,
    Priority,
    Query,
    Response,
    Router,
    json_response,
)
from identity.domain.errors import (
    EmailTaken,
    InvalidCredentials,
    InvalidEmail,
    InvalidRefreshToken,
    InvalidServiceCredentials,
    RotationConflict,
    TooManyAttempts,
    WeakPassword,
)
from identity.entrypoints.schemas import (
    AccessTokenOut,
    AuditEventOut,
    Credentials,
    JwksOut,
    KeyRotatedOut,
    RefreshIn,
    ServiceCredentials,
    TokenPairOut,
    UserOut,
)
from identity.service import accounts, audit, service_tokens, sessions, signing
from identity.service.context import IdentityContext

__all__ = ["router"]

router = Router(tags=["identity"])

JWKS_MAX_AGE = 60
_AUDIT_PAGES = CursorCodec("identity.audit.v1")


@router.post("/v1/signup", status=201, raises=(InvalidEmail, WeakPassword, EmailTaken))
async def sign_up(body: Credentials, identity: IdentityContext) -> UserOut:
    """Create a customer account.

    Any field besides email and password is ignored: every sign-up is a customer."""
    return UserOut.of(await accounts.sign_up(identity, email=body.email, password=body.password))


@router.post("/v1/login", raises=(InvalidCredentials,), problems={
    429: "too many failed logins for this account or client address, `Retry-After` says how "
         "long to wait (identity/too-many-attempts)"})
async def log_in(body: Credentials, client: ClientAddress,
                 identity: IdentityContext) -> TokenPairOut:
    """Trade an email and password for an access token and a refresh token.

    An unknown email and a wrong password get the same answer."""
    try:
        pair = await sessions.log_in(identity, email=body.email, password=body.password,
                                     client=client)
    except TooManyAttempts as exc:  # a domain rule, but its answer carries a header
        raise Problem(429, "identity/too-many-attempts", str(exc),
                      headers={"Retry-After": str(exc.retry_after)}) from None
    return TokenPairOut(access_token=pair.access_token, expires_in=pair.expires_in,
                        refresh_token=pair.refresh_token)


@router.post("/v1/refresh", raises=(InvalidRefreshToken,))
async def refresh(body: RefreshIn, client: ClientAddress,
                  identity: IdentityContext) -> TokenPairOut:
    """A new token pair; the presented refresh token is spent.

    Presenting a spent one revokes every token of its login (both holders log in again)."""
    pair = await sessions.refresh(identity, refresh_token=body.refresh_token,
                                  client=client)
    return TokenPairOut(access_token=pair.access_token, expires_in=pair.expires_in,
                        refresh_token=pair.refresh_token)


@router.post("/v1/logout", status=204)
async def log_out(body: RefreshIn, client: ClientAddress, identity: IdentityContext) -> None:
    """Revoke the refresh token and every token rotated from the same login.

    An unknown or already revoked token is fine: logging out twice is harmless."""
    await sessions.log_out(identity, refresh_token=body.refresh_token, client=client)


@router.get("/v1/me", auth=USER, raises=(InvalidCredentials,))
async def me(user: Principal, identity: IdentityContext) -> UserOut:
    """The caller's own account (from the verified token, never from the request)."""
    return UserOut.of(await accounts.profile(identity, user.id))


@router.get("/v1/jwks", responses={200: (JwksOut, "may be cached for a minute")})
async def jwks(identity: IdentityContext) -> Response:
    """Public keys that verify identity's tokens: the active key and recently retired ones."""
    return json_response(await signing.jwks(identity),
                         headers={"Cache-Control": f"max-age={JWKS_MAX_AGE}"})


@router.post("/v1/keys/rotate", auth=ADMIN, raises=(RotationConflict,))
async def rotate_key(admin: Principal, identity: IdentityContext) -> KeyRotatedOut:
    """Sign new tokens with a new key.

    Tokens signed before stay valid until they expire: the old key stays published."""
    return KeyRotatedOut(kid=await signing.rotate_signing_key(identity, actor=admin.id))


@router.get("/v1/audit", auth=ADMIN, raises=(InvalidCursor,))
async def audit_log(identity: IdentityContext, cursor: CursorParam = None,
                    limit: Annotated[int, Query(ge=1, le=audit.MAX_AUDIT_PAGE)] = 100,
                    ) -> Page[AuditEventOut]:
    """Security events, newest first."""
    before = None
    if cursor:
        at, event_id = _AUDIT_PAGES.decode(cursor, (datetime, str))
        before = (at, event_id)
    events, more = await audit.recent_events(identity, limit, before=before)
    nxt = _AUDIT_PAGES.encode([events[-1].at.isoformat(), events[-1].id]) if more else None
    return Page([AuditEventOut.of(event) for event in events], nxt)


@router.post("/v1/service-tokens", raises=(InvalidServiceCredentials,),
             priority=Priority.INTERNAL)
async def service_token(body: ServiceCredentials, client: ClientAddress,
                        identity: IdentityContext) -> AccessTokenOut:
    """Trade a service's credentials for a short-lived service token."""
    token = await service_tokens.issue_service_token(
        identity, service=body.service, secret=body.secret, client=client)
    return AccessTokenOut(access_token=token.access_token, expires_in=token.expires_in)
