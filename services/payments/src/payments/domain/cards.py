"""Card tokens are never stored; only their kind is, which is all the (fake) processor needs."""

from __future__ import annotations

__all__ = ["DECLINE", "TIMEOUT", "UNKNOWN", "VISA", "card_token_kind"]

VISA = "visa"
DECLINE = "decline"
TIMEOUT = "timeout"
UNKNOWN = "unknown"

_KINDS = {"tok_visa": VISA, "tok_decline": DECLINE, "tok_timeout": TIMEOUT}


def card_token_kind(token: str) -> str:
    """``visa``, ``decline``, ``timeout``, or ``unknown`` for anything else."""
    return _KINDS.get(token, UNKNOWN)
