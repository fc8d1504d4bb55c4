"""The block list of common passwords: zxcvbn's 30,000 most frequent leaked passwords (MIT
licence), lower-cased, read from the installed ``zxcvbn`` package.

Only its ``frequency_lists`` module is run, on its own: importing ``zxcvbn`` itself builds
ranked dictionaries of every list (English words, names, surnames …), ~17 MB held for the
process's life to use one list of 240 kB. That module only splits nine long strings into
lists; it is run once and dropped, and only the set of passwords stays.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path

__all__ = ["common_passwords"]


@cache
def common_passwords() -> frozenset[str]:
    """Read once (a few milliseconds), then shared."""
    package = importlib.util.find_spec("zxcvbn")  # found, not imported
    if package is None or not package.submodule_search_locations:
        raise RuntimeError("the zxcvbn package is not installed (requirements/runtime.txt)")
    path = Path(next(iter(package.submodule_search_locations))) / "frequency_lists.py"
    spec = importlib.util.spec_from_file_location("_souk_zxcvbn_frequency_lists", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    passwords: list[str] = module.FREQUENCY_LISTS["passwords"]
    return frozenset(word.lower() for word in passwords)
