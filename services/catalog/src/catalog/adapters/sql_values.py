"""Search text as the catalog stores it. SQLite's ``lower()`` folds ASCII only, so the
case-folded text is computed here, identically for both engines, and stored beside the product.
(Timestamps: :mod:`chassis.db.timestamps`.)"""

from __future__ import annotations

__all__ = ["like_pattern", "search_text"]


def search_text(*parts: str) -> str:
    """What a text search looks in: the parts, case-folded (Unicode-aware), one per line."""
    return "\n".join(part.casefold() for part in parts)


def like_pattern(text: str) -> str:
    """A ``LIKE … ESCAPE '\\'`` pattern matching ``text`` anywhere in a ``search_text`` value."""
    folded = text.casefold()
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
