"""The block list of common passwords: zxcvbn's 30,000 most frequent leaked passwords (MIT
licence), lower-cased, in ``common_passwords.txt`` beside this module.

The list ships as a file because importing it from zxcvbn loads every one of zxcvbn's frequency
lists (English words, names, surnames …): ~17 MB of memory held for the process's life to use
one list of 240 kB.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

__all__ = ["common_passwords"]


@cache
def common_passwords() -> frozenset[str]:
    """Read once (about a millisecond), then shared."""
    text = files(__package__ or "identity.adapters").joinpath("common_passwords.txt").read_text(
        encoding="utf-8")
    return frozenset(text.splitlines())
