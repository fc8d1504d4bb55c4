"""The block list of common passwords: zxcvbn's 30,000 most frequent leaked passwords."""

from __future__ import annotations

from functools import cache

__all__ = ["common_passwords"]


@cache
def common_passwords() -> frozenset[str]:
    """Built on first use (a few milliseconds), not at import, then shared."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # type: ignore[import-untyped]

    return frozenset(word.lower() for word in FREQUENCY_LISTS["passwords"])
