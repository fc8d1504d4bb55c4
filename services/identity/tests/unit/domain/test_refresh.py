"""Refresh tokens (domain/refresh.py): valid, expired, revoked or reused."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from identity.domain.refresh import RefreshToken, RefreshVerdict, judge_refresh_token

pytestmark = pytest.mark.unit

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def token(**changes: Any) -> RefreshToken:
    return replace(RefreshToken(id="t", family_id="f", user_id="u", token_hash="h", issued_at=T0,
                                expires_at=T0 + timedelta(days=30)), **changes)


def test_judges_a_refresh_token_valid_expired_revoked_or_reused() -> None:
    assert judge_refresh_token(token(), T0) is RefreshVerdict.VALID
    assert judge_refresh_token(token(), T0 + timedelta(days=30)) is RefreshVerdict.EXPIRED
    assert judge_refresh_token(token(used_at=T0), T0) is RefreshVerdict.REUSED
    assert judge_refresh_token(token(used_at=T0, revoked_at=T0), T0) is RefreshVerdict.REVOKED
