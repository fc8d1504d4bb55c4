"""Search text as the catalog stores it. SQLite's ``lower()`` folds ASCII only, so the
case-folded text is computed here, identically for both engines, and stored beside the product.
(Timestamps: :mod:`chassis.db.timestamps`.)"""

from __future__ import annotations

import unicodedata

__all__ = ["like_pattern", "search_text"]


def _fold(text: str) -> str:
    """Case-folded (Unicode-aware), then composed (NFC): a decomposed ``café`` (``e`` and a
    combining accent, as some keyboards and pasted text give it) finds the composed one."""
    return unicodedata.normalize("NFC", text.casefold())


def search_text(*parts: str) -> str:
    """What a text search looks in: the parts, folded (:func:`_fold`), one per line."""
    return "\n".join(_fold(part) for part in parts)


def like_pattern(text: str) -> str:
    """A ``LIKE … ESCAPE '\\'`` pattern matching ``text`` anywhere in a ``search_text`` value."""
    folded = _fold(text)
    escaped = folded.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
