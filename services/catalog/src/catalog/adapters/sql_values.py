"""Conversions between domain values and what each database stores.

Timestamps: asyncpg wants ``datetime`` objects for ``timestamptz`` columns, while stdlib sqlite3
would need its default datetime adapter (deprecated since Python 3.12), so SQLite gets ISO-8601 text
in UTC, which also sorts in time order. Search text: SQLite's ``lower()`` folds ASCII only, so the
case-folded text is computed here, identically for both engines, and stored beside the product.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

__all__ = ["from_db_timestamp", "like_pattern", "search_text", "to_db_timestamp"]


def to_db_timestamp(dialect: str, value: datetime | None) -> datetime | str | None:
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds") if dialect == "sqlite" else value


def from_db_timestamp(value: Any) -> datetime:
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(parsed, datetime):
        raise TypeError(f"expected a timestamp, got {type(value).__name__}")
    # values written by hand (or by CURRENT_TIMESTAMP on SQLite) have no zone: they are UTC
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def search_text(*parts: str) -> str:
    """What a text search looks in: the parts, case-folded (Unicode-aware), one per line."""
    return "\n".join(part.casefold() for part in parts)


def like_pattern(text: str) -> str:
    """A ``LIKE … ESCAPE '\\'`` pattern matching ``text`` anywhere in a ``search_text`` value."""
    folded = text.casefold()
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
