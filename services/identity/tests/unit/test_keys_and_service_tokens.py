from __future__ import annotations

import hashlib
import json

import pytest

from identity.domain.audit import AuditKind
from identity.domain.errors import InvalidServiceCredentials
from identity.service import accounts, service_tokens, signing

from .fakes import Clock, InMemoryUnitOfWork, make_deps

pytestmark = pytest.mark.unit


async def test_the_first_key_is_made_once() -> None:
    deps = make_deps()
    assert await signing.ensure_signing_key(deps) == "kid1"
    assert await signing.ensure_signing_key(deps) == "kid1"


async def test_rotation_activates_a_new_key_and_keeps_the_old_one_published_for_the_overlap() -> None:
    clock = Clock()
    deps = make_deps(clock=clock)
    await signing.ensure_signing_key(deps)
    assert await signing.rotate_signing_key(deps, actor="admin-id") == "kid2"
    assert [k["kid"] for k in (await signing.jwks(deps))["keys"]] == ["kid2", "kid1"]
    assert json.loads(await signing.sign(deps, {"sub": "x"}))["kid"] == "kid2"
    clock.advance(900 + 60)  # access-token lifetime plus slack: no token of kid1 is alive
    assert [k["kid"] for k in (await signing.jwks(deps))["keys"]] == ["kid2"]
    uow = deps.uow
    assert isinstance(uow, InMemoryUnitOfWork)
    rotated = [e for e in uow.store.audit if e.event is AuditKind.KEY_ROTATED]
    assert rotated[0].detail == {"kid": "kid2", "previous_kid": "kid1"}


async def test_the_bootstrap_admin_is_created_once_and_never_changes_an_existing_account() -> None:
    deps = make_deps()
    assert await accounts.ensure_admin(deps, email="root@souk.local", password="long enough pw")
    assert not await accounts.ensure_admin(deps, email="root@souk.local", password="long enough pw")
    uow = deps.uow
    assert isinstance(uow, InMemoryUnitOfWork)
    assert [u.roles for u in uow.store.users.values()] == [("admin",)]
    assert [e.event for e in uow.store.audit] == [AuditKind.SIGNUP, AuditKind.ROLE_GRANTED]


async def test_a_service_with_the_right_secret_gets_a_service_token() -> None:
    deps = make_deps(credentials={"orders": hashlib.sha256(b"s3cret").hexdigest()})
    await signing.ensure_signing_key(deps)
    token = await service_tokens.issue_service_token(deps, service="orders", secret="s3cret",
                                                     client="c")
    claims = json.loads(token.access_token)
    assert (claims["sub"], claims["svc"], claims["aud"]) == ("service:orders", "orders",
                                                             "souk-internal")
    assert token.expires_in == 300


@pytest.mark.parametrize(("service", "secret"), [("orders", "wrong"), ("nosuch", "s3cret")])
async def test_a_wrong_secret_or_unknown_service_is_refused_and_audited(service: str,
                                                                        secret: str) -> None:
    deps = make_deps(credentials={"orders": hashlib.sha256(b"s3cret").hexdigest()})
    with pytest.raises(InvalidServiceCredentials):
        await service_tokens.issue_service_token(deps, service=service, secret=secret, client="c")
    uow = deps.uow
    assert isinstance(uow, InMemoryUnitOfWork)
    assert [e.event for e in uow.store.audit] == [AuditKind.SERVICE_TOKEN_DENIED]
