"""Timestamps as each database stores them.

asyncpg wants ``datetime`` objects for ``timestamptz`` columns; stdlib sqlite3 would need its
default datetime adapter (deprecated since Python 3.12), so SQLite gets fixed-width UTC ISO-8601
text, which also sorts in time order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = ["from_db_timestamp", "to_db_timestamp"]


def to_db_timestamp(dialect: str, value: datetime | None) -> datetime | str | None:
    """A zone-aware ``value`` as ``dialect`` ("sqlite" or "postgresql") stores it."""
    if value is None:
        return None
    if value.tzinfo is not UTC:  # astimezone costs more than the rest; most values are UTC
        value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds") if dialect == "sqlite" else value


def from_db_timestamp(value: Any) -> datetime:
    """A stored timestamp back as a zone-aware ``datetime`` (naive values are taken as UTC)."""
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(parsed, datetime):
        raise TypeError(f"expected a timestamp, got {type(value).__name__}")
    # values written by hand (or by CURRENT_TIMESTAMP on SQLite) have no zone: they are UTC
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
