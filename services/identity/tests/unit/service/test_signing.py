"""Signing keys (service/signing.py): the first key, rotation with overlap, the JWKS."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from identity.domain.audit import AuditKind
from identity.service import signing

from .conftest import Clock, InMemoryUnitOfWork, make_context

pytestmark = pytest.mark.unit


async def test_the_first_key_is_made_once() -> None:
    ctx = make_context()
    assert await signing.ensure_signing_key(ctx) == "kid1"
    assert await signing.ensure_signing_key(ctx) == "kid1"


async def test_rotation_activates_a_new_key_and_keeps_the_old_one_published_for_the_overlap() -> None:
    clock = Clock()
    ctx = make_context(clock=clock)
    await signing.ensure_signing_key(ctx)
    assert await signing.rotate_signing_key(ctx, actor="admin-id") == "kid2"
    assert [k["kid"] for k in (await signing.jwks(ctx))["keys"]] == ["kid2", "kid1"]
    assert json.loads(await signing.sign(ctx, {"sub": "x"}))["kid"] == "kid2"
    clock.advance(900 + 60)  # access-token lifetime plus slack: no token of kid1 is alive
    assert [k["kid"] for k in (await signing.jwks(ctx))["keys"]] == ["kid2"]
    uow = ctx.uow
    assert isinstance(uow, InMemoryUnitOfWork)
    rotated = [e for e in uow.store.audit if e.event is AuditKind.KEY_ROTATED]
    assert rotated[0].detail == {"kid": "kid2", "previous_kid": "kid1"}


async def test_keys_stored_in_the_clear_are_sealed_once() -> None:
    ctx = make_context()
    await signing.ensure_signing_key(ctx)
    uow = ctx.uow
    assert isinstance(uow, InMemoryUnitOfWork)
    uow.store.keys["kid1"] = replace(uow.store.keys["kid1"], private_pem="clear")
    assert await signing.seal_signing_keys(ctx) == 1
    assert uow.store.keys["kid1"].private_pem == "sealed:clear"
    assert await signing.seal_signing_keys(ctx) == 0
