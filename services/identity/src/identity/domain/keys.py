"""Signing keys: one active key signs; retired keys stay published while tokens they signed may
still be alive, so a rotation never invalidates a token before its expiry."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

__all__ = ["SigningKey", "published_keys"]


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_pem: str = field(repr=False)  # never in a log line or a traceback
    public_jwk: dict[str, Any]
    created_at: datetime
    retired_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.retired_at is None


def published_keys(keys: Iterable[SigningKey], now: datetime,
                   overlap: timedelta) -> list[SigningKey]:
    """The active key and every key retired less than ``overlap`` ago, newest first."""
    alive = [k for k in keys if k.retired_at is None or now - k.retired_at < overlap]
    return sorted(alive, key=lambda k: (k.retired_at is None, k.retired_at or now), reverse=True)
