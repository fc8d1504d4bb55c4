from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from identity.domain.keys import SigningKey, published_keys
from identity.domain.refresh import RefreshToken, RefreshVerdict, judge_refresh_token
from identity.domain.tokens import TokenPolicy, access_claims, service_claims

from .fakes import T0

pytestmark = pytest.mark.unit

POLICY = TokenPolicy(issuer="souk-identity", audience="souk", internal_audience="souk-internal",
                     access_ttl=900, service_ttl=300, refresh_ttl=86400)


def test_access_claims_are_exactly_the_contract_and_carry_no_personal_data() -> None:
    claims = access_claims(POLICY, user_id="u1", roles=("customer",), now=1000, token_id="j1")
    assert claims == {"iss": "souk-identity", "aud": "souk", "sub": "u1", "iat": 1000,
                      "nbf": 1000, "exp": 1900, "jti": "j1", "roles": ["customer"]}


def test_service_claims_use_the_internal_audience_and_name_the_service() -> None:
    claims = service_claims(POLICY, service="orders", now=1000, token_id="j2")
    assert claims == {"iss": "souk-identity", "aud": "souk-internal", "sub": "service:orders",
                      "svc": "orders", "iat": 1000, "nbf": 1000, "exp": 1300, "jti": "j2",
                      "roles": ["service"]}


def key(kid: str, retired_minutes_ago: float | None = None) -> SigningKey:
    retired = None if retired_minutes_ago is None else T0 - timedelta(minutes=retired_minutes_ago)
    return SigningKey(kid=kid, private_pem="pem", public_jwk={"kid": kid}, created_at=T0,
                      retired_at=retired)


def test_publishes_the_active_key_first_then_keys_retired_within_the_overlap() -> None:
    keys = [key("old", 30), key("recent", 5), key("active"), key("older", 1)]
    shown = published_keys(keys, T0, overlap=timedelta(minutes=16))
    assert [k.kid for k in shown] == ["active", "older", "recent"]


def test_a_signing_key_never_shows_its_private_half_in_repr() -> None:
    assert "pem" not in repr(key("k"))


def token(**changes: Any) -> RefreshToken:
    return replace(RefreshToken(id="t", family_id="f", user_id="u", token_hash="h", issued_at=T0,
                                expires_at=T0 + timedelta(days=30)), **changes)


def test_judges_a_refresh_token_valid_expired_revoked_or_reused() -> None:
    assert judge_refresh_token(token(), T0) is RefreshVerdict.VALID
    assert judge_refresh_token(token(), T0 + timedelta(days=30)) is RefreshVerdict.EXPIRED
    assert judge_refresh_token(token(used_at=T0), T0) is RefreshVerdict.REUSED
    assert judge_refresh_token(token(used_at=T0, revoked_at=T0), T0) is RefreshVerdict.REVOKED
