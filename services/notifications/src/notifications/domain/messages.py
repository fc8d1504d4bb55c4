"""Mailbox messages: what a customer is told when their order ends, and how it is worded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

__all__ = ["TERMINAL_KINDS", "Kind", "Message", "OrderOutcome", "compose", "format_money"]


class Kind(StrEnum):
    ORDER_CONFIRMED = "order-confirmed"
    ORDER_CANCELLED = "order-cancelled"


# At most one of these per order (a unique index in the database enforces it as well).
TERMINAL_KINDS = frozenset({Kind.ORDER_CONFIRMED, Kind.ORDER_CANCELLED})

# ISO-4217 currencies without two decimals; every other currency is shown with two.
_EXPONENTS = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "BHD": 3, "KWD": 3, "JOD": 3, "TND": 3}


@dataclass(frozen=True, slots=True)
class OrderOutcome:
    """How an order ended, as notifications keeps it (its own copy of the event's fields)."""

    kind: Kind
    order_id: str
    user_id: str
    item_count: int
    total_minor: int
    currency: str
    reason: str = ""  # why it was cancelled


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    user_id: str
    order_id: str
    kind: Kind
    subject: str
    body: str
    created_at: datetime


def format_money(amount_minor: int, currency: str) -> str:
    """``2490, "EUR"`` → ``"24.90 EUR"``."""
    exponent = _EXPONENTS.get(currency, 2)
    if exponent == 0:
        return f"{amount_minor} {currency}"
    units, cents = divmod(amount_minor, 10**exponent)
    return f"{units}.{cents:0{exponent}d} {currency}"


# the saga's reasons for a cancellation, in the customer's words (another is shown as it came)
_WHY = {"payment-declined": "your card was declined",
        "payment-timeout": "the payment timed out",
        "out-of-stock": "an item was out of stock",
        "insufficient-stock": "an item was out of stock",
        "rejected": "an item was out of stock",
        "unknown-sku": "an item is no longer sold",
        "inventory-timeout": "we could not reserve your items in time",
        "expired": "we could not hold your items long enough",
        "released": "we could not hold your items long enough"}


def compose(outcome: OrderOutcome, *, message_id: str, now: datetime) -> Message:
    """The message that tells the customer about ``outcome``."""
    items = "1 item" if outcome.item_count == 1 else f"{outcome.item_count} items"
    total = format_money(outcome.total_minor, outcome.currency)
    if outcome.kind is Kind.ORDER_CONFIRMED:
        subject = f"Your order {outcome.order_id} is confirmed"
        body = (f"Thank you! Your order of {items} is confirmed and your payment of {total} "
                "was taken. We will let you know when it ships.")
    else:
        subject = f"Your order {outcome.order_id} was cancelled"
        reason = outcome.reason
        why = (f": {_WHY[reason]}" if reason in _WHY else f" ({reason})" if reason else "")
        body = (f"Sorry, your order of {items} ({total}) was cancelled{why}. "
                "You have not been charged.")
    return Message(id=message_id, user_id=outcome.user_id, order_id=outcome.order_id,
                   kind=outcome.kind, subject=subject, body=body, created_at=now)
