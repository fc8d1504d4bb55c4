"""Accounts: who a user is, which role they hold, and what we accept as email and password."""

from __future__ import annotations

import unicodedata
from collections.abc import Container
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from identity.domain.errors import InvalidEmail, WeakPassword

__all__ = ["MAX_EMAIL_LENGTH", "MAX_PASSWORD_LENGTH", "MIN_PASSWORD_LENGTH", "Role", "User",
           "check_password_policy", "normalize_email", "validate_email"]

MAX_EMAIL_LENGTH = 254  # RFC 5321's limit on a forward path
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128


class Role(StrEnum):
    CUSTOMER = "customer"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    password_hash: str
    role: Role
    created_at: datetime

    @property
    def roles(self) -> tuple[str, ...]:
        return (self.role.value,)


def normalize_email(raw: str) -> str:
    """The form we store and look up: stripped and lower-cased, so case never splits accounts."""
    return raw.strip().lower()


def validate_email(raw: str) -> str:
    """The normalised address, or ``InvalidEmail``. Deliberately simple: one ``@``, something
    before it, a dot inside the domain, no spaces or control characters. Whether the mailbox
    exists only a confirmation mail could tell."""
    email = normalize_email(raw)
    local, at, domain = email.partition("@")
    if (not at or not local or "@" in domain or len(email) > MAX_EMAIL_LENGTH
            or "." not in domain.strip(".") or domain.startswith(".") or domain.endswith(".")
            or any(ch.isspace() or unicodedata.category(ch).startswith("C") for ch in email)):
        raise InvalidEmail("not a valid email address")
    return email


def check_password_policy(password: str, common_passwords: Container[str]) -> None:
    """NIST SP 800-63B: a length range and a block list of known passwords (and, as it asks of
    that list, of repetitive ones: one character over and over, or only blanks); no
    composition rules, which push people to ``Password1!``."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"the password must have at most {MAX_PASSWORD_LENGTH} characters")
    if not password.strip() or len(set(password)) == 1:
        raise WeakPassword("this password is one character repeated (or only blanks); "
                           "choose another")
    if password.lower() in common_passwords:
        raise WeakPassword("this password is among the most common ones; choose another")
