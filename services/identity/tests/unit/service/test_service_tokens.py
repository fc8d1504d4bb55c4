"""Service tokens (service/service_tokens.py): a service trades its secret for a token."""

from __future__ import annotations

import hashlib
import json

import pytest

from identity.domain.audit import AuditKind
from identity.domain.errors import InvalidServiceCredentials
from identity.service import service_tokens, signing

from .conftest import InMemoryUnitOfWork, make_context

pytestmark = pytest.mark.unit


async def test_a_service_with_the_right_secret_gets_a_service_token() -> None:
    ctx = make_context(credentials={"orders": hashlib.sha256(b"s3cret").hexdigest()})
    await signing.ensure_signing_key(ctx)
    token = await service_tokens.issue_service_token(ctx, service="orders", secret="s3cret",
                                                     client="c")
    claims = json.loads(token.access_token)
    assert (claims["sub"], claims["svc"], claims["aud"]) == ("service:orders", "orders",
                                                             "souk-internal")
    assert token.expires_in == 300


@pytest.mark.parametrize(("service", "secret"), [("orders", "wrong"), ("nosuch", "s3cret")])
async def test_a_wrong_secret_or_unknown_service_is_refused_and_audited(service: str,
                                                                        secret: str) -> None:
    ctx = make_context(credentials={"orders": hashlib.sha256(b"s3cret").hexdigest()})
    with pytest.raises(InvalidServiceCredentials):
        await service_tokens.issue_service_token(ctx, service=service, secret=secret, client="c")
    uow = ctx.uow
    assert isinstance(uow, InMemoryUnitOfWork)
    assert [e.event for e in uow.store.audit] == [AuditKind.SERVICE_TOKEN_DENIED]
