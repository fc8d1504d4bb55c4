"""Payments' commands (from the orders saga) and its replies and events. One payment per order."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from contracts.base import Command, Event, Money

__all__ = ["AuthorizePayment", "CapturePayment", "PaymentAuthorized", "PaymentCaptured",
           "PaymentDeclined", "PaymentRefunded", "PaymentVoided", "RefundPayment", "VoidPayment"]

Currency = str


class AuthorizePayment(Command):
    """Hold ``amount_minor`` on the card. Test tokens: ``tok_visa`` succeeds, ``tok_decline`` is
    declined, ``tok_timeout`` answers only after the processor's timeout delay."""

    TYPE: ClassVar[str] = "payments.AuthorizePayment.v1"
    order_id: str
    idempotency_key: str
    user_id: str
    amount_minor: Money
    currency: Currency = Field(min_length=3, max_length=3)
    card_token: str = Field(min_length=1, max_length=64)


class CapturePayment(Command):
    """Take the authorized amount (the saga's pivot)."""

    TYPE: ClassVar[str] = "payments.CapturePayment.v1"
    order_id: str
    idempotency_key: str
    amount_minor: Money


class VoidPayment(Command):
    """Undo whatever this order's payment holds: void an authorization, refund a capture; when
    nothing exists yet, remember the void so a late authorization is voided at once."""

    TYPE: ClassVar[str] = "payments.VoidPayment.v1"
    order_id: str
    idempotency_key: str


class RefundPayment(Command):
    TYPE: ClassVar[str] = "payments.RefundPayment.v1"
    order_id: str
    idempotency_key: str
    amount_minor: Money


class PaymentAuthorized(Event):
    TYPE: ClassVar[str] = "payments.PaymentAuthorized.v1"
    order_id: str
    idempotency_key: str
    payment_id: str
    amount_minor: Money
    currency: Currency


class PaymentDeclined(Event):
    TYPE: ClassVar[str] = "payments.PaymentDeclined.v1"
    order_id: str
    idempotency_key: str
    reason: str


class PaymentCaptured(Event):
    TYPE: ClassVar[str] = "payments.PaymentCaptured.v1"
    order_id: str
    idempotency_key: str
    payment_id: str
    amount_minor: Money
    currency: Currency


class PaymentVoided(Event):
    """The answer to VoidPayment: what it undid."""

    TYPE: ClassVar[str] = "payments.PaymentVoided.v1"
    order_id: str
    idempotency_key: str
    outcome: Literal["voided", "refunded", "nothing"]


class PaymentRefunded(Event):
    TYPE: ClassVar[str] = "payments.PaymentRefunded.v1"
    order_id: str
    idempotency_key: str
    amount_minor: Money
