"""Timestamps as each database stores them: asyncpg wants ``datetime`` objects for
``timestamptz``; SQLite gets UTC ISO-8601 text of fixed width, which sorts in time order."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = ["from_db_timestamp", "to_db_timestamp"]


def to_db_timestamp(dialect: str, value: datetime | None) -> datetime | str | None:
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds") if dialect == "sqlite" else value


def from_db_timestamp(value: Any) -> datetime:
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(parsed, datetime):
        raise TypeError(f"expected a timestamp, got {type(value).__name__}")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
