"""Signing keys (domain/keys.py): which keys the JWKS publishes, and in which order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from identity.domain.keys import SigningKey, published_keys

pytestmark = pytest.mark.unit

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


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
