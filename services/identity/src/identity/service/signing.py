"""Signing keys: create the first, rotate, publish the JWKS, sign with the active key."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from chassis.ids import new_id
from identity.domain.audit import AuditEvent, AuditKind
from identity.domain.errors import RotationConflict
from identity.domain.keys import SigningKey, published_keys
from identity.service.context import IdentityContext

__all__ = ["KEY_OVERLAP_SLACK", "ensure_signing_key", "jwks", "rotate_signing_key",
           "seal_signing_keys", "sign"]

# Retired keys stay published for the access-token lifetime plus this, which covers the clock
# skew verifiers allow and their JWKS caching.
KEY_OVERLAP_SLACK = timedelta(seconds=60)


def _overlap(ctx: IdentityContext) -> timedelta:
    return timedelta(seconds=ctx.tokens.access_ttl) + KEY_OVERLAP_SLACK


async def ensure_signing_key(ctx: IdentityContext) -> str:
    """The active key's kid, creating the first key if there is none. Safe when several
    instances start at once: only one insert wins, the others read its key."""
    async with ctx.uow(readonly=True) as repo:
        active = await repo.active_signing_key()
    if active is not None:
        return active.kid
    candidate = await ctx.signer.new_key(ctx.clock())
    async with ctx.uow() as repo:
        await repo.add_active_signing_key_if_none(candidate)
        active = await repo.active_signing_key()
    assert active is not None
    return active.kid


async def seal_signing_keys(ctx: IdentityContext) -> int:
    """Encrypt every private key still stored in the clear (from before keys were encrypted);
    how many were."""
    async with ctx.uow() as repo:
        sealed = 0
        for key in await repo.signing_keys():
            pem = ctx.signer.seal(key)
            if pem is not None:
                await repo.set_private_pem(key.kid, pem)
                sealed += 1
    return sealed


async def rotate_signing_key(ctx: IdentityContext, *, actor: str) -> str:
    """Make a new key active and retire the current one (still published for the overlap)."""
    now = ctx.clock()
    key = await ctx.signer.new_key(now)  # RSA generation is slow: outside the transaction
    async with ctx.uow() as repo:
        previous = await repo.active_signing_key()
        await repo.retire_active_signing_key(now)
        if not await repo.add_active_signing_key_if_none(key):
            raise RotationConflict("another key rotation happened at the same moment; retry")
        await repo.add_audit_event(AuditEvent(
            id=new_id(), at=now, event=AuditKind.KEY_ROTATED, user_id=actor,
            detail={"kid": key.kid, "previous_kid": previous.kid if previous else None}))
    return key.kid


async def jwks(ctx: IdentityContext) -> dict[str, Any]:
    """The JSON Web Key Set: public halves of the keys whose tokens may still be alive."""
    now = ctx.clock()
    async with ctx.uow(readonly=True) as repo:
        keys = await repo.signing_keys_retired_since(now - _overlap(ctx))
    return {"keys": [dict(key.public_jwk) for key in published_keys(keys, now, _overlap(ctx))]}


async def active_key(ctx: IdentityContext) -> SigningKey:
    async with ctx.uow(readonly=True) as repo:
        key = await repo.active_signing_key()
    if key is None:  # ensure_signing_key runs at start; only a wiped table gets here
        raise RuntimeError("no active signing key")
    return key


async def sign(ctx: IdentityContext, claims: Mapping[str, Any]) -> str:
    """Sign with the key active right now (read each time: another instance may have rotated)."""
    return ctx.signer.sign(claims, await active_key(ctx))
