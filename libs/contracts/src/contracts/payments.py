"""Payments' commands (from the orders saga) and its replies and events. One payment per order."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from msgspec import Meta

from contracts.base import Money, OrderCommand, OrderReply

__all__ = ["AuthorizePayment", "CapturePayment", "PaymentAmountReply", "PaymentAuthorized",
           "PaymentCaptured", "PaymentDeclined", "PaymentRefunded", "PaymentVoided", "RefundPayment",
           "VoidPayment"]

Currency = str


class AuthorizePayment(OrderCommand, frozen=True, kw_only=True):
    """Hold ``amount_minor`` on the card. Test tokens: ``tok_visa`` succeeds, ``tok_decline`` is
    declined, ``tok_timeout`` answers only after the processor's timeout delay.

    With ``capture``, an approved authorization is also captured in the same step and answered
    ``PaymentCaptured`` (carrying this command's ``idempotency_key``) instead of
    ``PaymentAuthorized``; a decline is answered ``PaymentDeclined`` either way. A receiver that
    predates the field ignores it and answers ``PaymentAuthorized``, so a sender must still accept
    that answer (and capture with ``CapturePayment``)."""

    TYPE: ClassVar[str] = "payments.AuthorizePayment.v1"
    user_id: str
    amount_minor: Money
    currency: Annotated[Currency, Meta(min_length=3, max_length=3)]
    card_token: Annotated[str, Meta(min_length=1, max_length=64)]
    # added later: absent in older senders' messages, which keeps their meaning (authorize only)
    capture: bool = False


class CapturePayment(OrderCommand, frozen=True, kw_only=True):
    """Take the authorized amount (the saga's pivot, when it was not captured on authorization)."""

    TYPE: ClassVar[str] = "payments.CapturePayment.v1"
    amount_minor: Money


class VoidPayment(OrderCommand, frozen=True, kw_only=True):
    """Undo whatever this order's payment holds: void an authorization, refund a capture; when
    nothing exists yet, remember the void so a late authorization is voided at once."""

    TYPE: ClassVar[str] = "payments.VoidPayment.v1"


class RefundPayment(OrderCommand, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "payments.RefundPayment.v1"
    amount_minor: Money


class PaymentAmountReply(OrderReply, frozen=True, kw_only=True):
    """A reply naming the payment and the amount it holds (authorized) or took (captured)."""

    payment_id: str
    amount_minor: Money
    currency: Currency


class PaymentAuthorized(PaymentAmountReply, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "payments.PaymentAuthorized.v1"


class PaymentDeclined(OrderReply, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "payments.PaymentDeclined.v1"
    reason: str


class PaymentCaptured(PaymentAmountReply, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "payments.PaymentCaptured.v1"


class PaymentVoided(OrderReply, frozen=True, kw_only=True):
    """The answer to VoidPayment: what it undid."""

    TYPE: ClassVar[str] = "payments.PaymentVoided.v1"
    outcome: Literal["voided", "refunded", "nothing"]


class PaymentRefunded(OrderReply, frozen=True, kw_only=True):
    TYPE: ClassVar[str] = "payments.PaymentRefunded.v1"
    amount_minor: Money
