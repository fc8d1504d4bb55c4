"""The block list of common passwords (adapters/common_passwords.py)."""

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


def test_the_shipped_list_is_zxcvbns_own() -> None:
    lists = pytest.importorskip("zxcvbn.frequency_lists")
    assert common_passwords() == {word.lower() for word in lists.FREQUENCY_LISTS["passwords"]}
