"""Accounts (domain/accounts.py): what we accept as an email address and as a password."""

from __future__ import annotations

import pytest

from identity.domain.accounts import check_password_policy, normalize_email, validate_email
from identity.domain.errors import InvalidEmail, WeakPassword

pytestmark = pytest.mark.unit

COMMON = frozenset({"password", "qwertyuiop"})


def test_normalizes_an_email_by_stripping_and_lower_casing() -> None:
    assert normalize_email("  Ada.Lovelace@Example.COM \n") == "ada.lovelace@example.com"
    assert validate_email(" Ada@Example.com") == "ada@example.com"


@pytest.mark.parametrize("raw", [
    "", "ada", "ada@", "@example.com", "ada@example", "ada@@example.com", "a@b@example.com",
    "ada@.com", "ada@example.", "ada lovelace@example.com", "ada@exa\tmple.com", "ada\x00@x.com",
    "a" * 250 + "@x.com"])
def test_rejects_what_is_not_an_email_address(raw: str) -> None:
    with pytest.raises(InvalidEmail):
        validate_email(raw)


def test_accepts_a_password_of_8_to_128_characters() -> None:
    check_password_policy("x" * 8 + "unusual", COMMON)
    check_password_policy("correct horse battery staple", COMMON)
    check_password_policy("é" * 64 + "ü" * 64, COMMON)


@pytest.mark.parametrize(("password", "says"), [
    ("short", "at least 8"), ("1234567", "at least 8"), ("x" * 129, "at most 128"),
    (" " * 8, "only blanks"), (" \t \t \t \t", "only blanks"), ("é" * 12, "repeated"),
    ("password", "most common"), ("PassWord", "most common"), ("QWERTYUIOP", "most common")])
def test_rejects_short_long_and_common_passwords(password: str, says: str) -> None:
    with pytest.raises(WeakPassword, match=says):
        check_password_policy(password, COMMON)
