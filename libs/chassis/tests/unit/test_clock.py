"""A service's skewed wall clock (chassis.clock, ``clock_skew``): what a skewed service makes of
the tokens it checks, and that the chassis's leeway (60 s) absorbs a small skew."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from chassis import clock
from chassis.auth import InvalidToken, StaticJwks, TokenVerifier
from chassis.fault_rules import ActiveFaults
from chassis.testing import TestIssuer

pytestmark = pytest.mark.unit

ISSUER = TestIssuer()


@pytest.fixture(autouse=True)
def true_clock() -> Iterator[None]:
    yield
    clock.set_skew(0.0)


def verifier() -> TokenVerifier:
    async def jwks() -> dict[str, object]:
        return ISSUER.jwks()

    return TokenVerifier(StaticJwks(jwks), issuer=ISSUER.issuer, audience=["souk"])


def test_the_skew_switched_on_moves_the_service_clock_only() -> None:
    faults = ActiveFaults()
    faults.set_clock_skew(-90.0)
    host = time.time()
    assert clock.skew() == -90.0
    assert host - 95 < clock.time() < host - 85
    assert abs(clock.now().timestamp() - (host - 90)) < 5
    faults.set_clock_skew(0.0)
    assert abs(clock.time() - time.time()) < 5


@pytest.mark.parametrize("skew", [-30.0, 30.0])
async def test_a_skew_within_the_leeway_accepts_tokens_issued_on_the_true_clock(
        skew: float) -> None:
    token = ISSUER.mint(ttl=20)  # expires 20 s from now on the issuer's (true) clock
    clock.set_skew(skew)
    claims = await verifier().verify(token)
    assert claims.subject == "user-1"


async def test_a_service_far_ahead_finds_fresh_tokens_expired() -> None:
    token = ISSUER.mint(ttl=900)
    clock.set_skew(2 * 3600.0)
    with pytest.raises(InvalidToken, match="expired"):
        await verifier().verify(token)


async def test_a_service_far_behind_finds_fresh_tokens_not_yet_valid() -> None:
    token = ISSUER.mint(ttl=900)
    clock.set_skew(-600.0)
    with pytest.raises(InvalidToken, match="not yet valid"):
        await verifier().verify(token)


async def test_a_cached_token_expires_on_the_service_clock() -> None:
    token, check = ISSUER.mint(ttl=900), verifier()
    await check.verify(token)  # now cached
    clock.set_skew(2 * 3600.0)
    with pytest.raises(InvalidToken, match="expired"):
        await check.verify(token)
