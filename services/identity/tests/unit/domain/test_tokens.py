"""The claims of identity's tokens (domain/tokens.py): the contract every verifier relies on."""

from __future__ import annotations

import pytest

from identity.domain.tokens import TokenPolicy, access_claims, service_claims

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
