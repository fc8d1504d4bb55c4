"""The block list of common passwords (adapters/common_passwords.py), read from the zxcvbn package."""

from __future__ import annotations

import pytest

from identity.adapters.common_passwords import common_passwords

pytestmark = pytest.mark.unit


def test_the_block_list_is_zxcvbns_thirty_thousand_passwords_lower_cased() -> None:
    blocked = common_passwords()
    assert len(blocked) == 30_000
    assert {"password", "iloveyou", "12345678", "qwerty"} <= blocked
    assert all(word == word.lower() and word.strip() == word and word for word in blocked)
    assert common_passwords() is blocked  # built once


def test_the_list_is_zxcvbns_own_read_without_importing_zxcvbn() -> None:
    import sys

    common_passwords.cache_clear()
    blocked = common_passwords()
    assert "_souk_zxcvbn_frequency_lists" not in sys.modules  # run once and dropped
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # the whole package, for comparison

    assert blocked == {word.lower() for word in FREQUENCY_LISTS["passwords"]}
