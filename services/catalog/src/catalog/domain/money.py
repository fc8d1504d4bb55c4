"""Prices as integer minor units (cents) in an ISO-4217 currency: no floats anywhere."""

from __future__ import annotations

import re
from dataclasses import dataclass

from catalog.domain.errors import InvalidMoney

__all__ = ["MAX_AMOUNT_MINOR", "Money"]

# Stored in a signed 64-bit column on both SQLite and PostgreSQL.
MAX_AMOUNT_MINOR = 2**63 - 1

# The shape of an ISO-4217 alphabetic code. The list of codes changes over time and the catalog
# has no rule that depends on it, so the shape is what we check.
_CURRENCY = re.compile(r"[A-Z]{3}")


@dataclass(frozen=True, slots=True)
class Money:
    amount_minor: int
    currency: str

    def __post_init__(self) -> None:
        # bool is an int subclass: True would otherwise pass as one cent
        if isinstance(self.amount_minor, bool) or not isinstance(self.amount_minor, int):
            kind = type(self.amount_minor).__name__
            raise InvalidMoney(f"amount_minor must be an integer, not {kind}")
        if not 0 <= self.amount_minor <= MAX_AMOUNT_MINOR:
            raise InvalidMoney(f"amount_minor must be between 0 and {MAX_AMOUNT_MINOR}")
        if not isinstance(self.currency, str) or not _CURRENCY.fullmatch(self.currency):
            raise InvalidMoney("currency must be an ISO-4217 code: three upper-case letters")
