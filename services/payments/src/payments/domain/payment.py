"""A payment's state, always rebuilt by folding its events, and the pure decisions on it.

Nothing here stores state: ``fold(events)`` is the only way to a ``Payment``, and each decision
returns the events to append (possibly none) for the caller to store.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Literal

from payments.domain.errors import CaptureRefused
from payments.domain.events import (
    AuthorizationRequested,
    Authorized,
    Captured,
    Declined,
    PaymentEvent,
    Refunded,
    Voided,
    VoidRequested,
)

__all__ = ["Decision", "Payment", "Status", "VoidOutcome", "apply", "capture",
           "decline_voided", "fold", "land_authorization", "void"]

VoidOutcome = Literal["voided", "refunded", "nothing"]


class Status(StrEnum):
    NEW = "new"  # no event yet
    VOID_REQUESTED = "void_requested"  # only a void so far: any authorization will be refused
    PENDING = "pending"  # the processor will answer later
    AUTHORIZED = "authorized"
    DECLINED = "declined"
    CAPTURED = "captured"
    VOIDED = "voided"
    REFUNDED = "refunded"


@dataclass(frozen=True, slots=True)
class Decision:
    """What the card processor answered."""

    approved: bool
    reason: str = ""  # why it was declined

    @classmethod
    def approve(cls) -> Decision:
        return cls(True)

    @classmethod
    def decline(cls, reason: str) -> Decision:
        return cls(False, reason)


@dataclass(frozen=True, slots=True)
class Payment:
    order_id: str
    version: int = 0  # number of events folded
    status: Status = Status.NEW
    user_id: str = ""
    amount_minor: int = 0
    currency: str = ""
    card_token_kind: str = ""
    idempotency_key: str = ""  # of the AuthorizePayment
    capture_requested: bool = False  # a pending authorization is captured as it lands
    decline_reason: str = ""
    authorized_minor: int = 0
    captured_minor: int = 0
    refunded_minor: int = 0
    captures: int = 0
    void_requested: bool = False
    void_idempotency_key: str = ""

    @property
    def decided(self) -> bool:
        """The authorization was answered (approved or declined), whatever happened since."""
        return self.status in (Status.AUTHORIZED, Status.DECLINED, Status.CAPTURED,
                               Status.VOIDED, Status.REFUNDED)

    @property
    def was_authorized(self) -> bool:
        return self.decided and self.status is not Status.DECLINED

    @property
    def net_minor(self) -> int:
        return self.captured_minor - self.refunded_minor

    @property
    def void_outcome(self) -> VoidOutcome:
        """What a VoidPayment answers about a payment that needs nothing more undone."""
        if self.status is Status.VOIDED:
            return "voided"
        if self.status is Status.REFUNDED:
            return "refunded"
        return "nothing"


def apply(payment: Payment, event: PaymentEvent) -> Payment:
    """``payment`` after ``event``."""
    p, version = payment, payment.version + 1  # one replace() per event: it is not cheap
    match event:
        case AuthorizationRequested():
            return replace(p, version=version, status=Status.PENDING, user_id=event.user_id,
                           amount_minor=event.amount_minor, currency=event.currency,
                           card_token_kind=event.card_token_kind,
                           idempotency_key=event.idempotency_key,
                           capture_requested=event.capture)
        case Authorized():
            return replace(p, version=version, status=Status.AUTHORIZED, authorized_minor=event.amount_minor,
                           amount_minor=event.amount_minor, currency=event.currency,
                           user_id=event.user_id or p.user_id,
                           idempotency_key=event.idempotency_key or p.idempotency_key)
        case Declined():
            return replace(p, version=version, status=Status.DECLINED, decline_reason=event.reason,
                           user_id=event.user_id or p.user_id,
                           amount_minor=event.amount_minor or p.amount_minor,
                           currency=event.currency or p.currency,
                           idempotency_key=event.idempotency_key or p.idempotency_key)
        case Captured():
            return replace(p, version=version, status=Status.CAPTURED, captures=p.captures + 1,
                           captured_minor=p.captured_minor + event.amount_minor)
        case Voided():
            return replace(p, version=version, status=Status.VOIDED)
        case Refunded():
            return replace(p, version=version, status=Status.REFUNDED,
                           refunded_minor=p.refunded_minor + event.amount_minor)
        case VoidRequested():
            status = Status.VOID_REQUESTED if p.status is Status.NEW else p.status
            return replace(p, version=version, status=status, void_requested=True,
                           void_idempotency_key=event.idempotency_key)
    raise TypeError(f"not a payment event: {event!r}")  # pragma: no cover - exhaustive above


def fold(order_id: str, events: Iterable[PaymentEvent]) -> Payment:
    """The payment ``events`` describe, from the first one on."""
    payment = Payment(order_id)
    for event in events:
        payment = apply(payment, event)
    return payment


def decline_voided(payment: Payment, *, user_id: str, amount_minor: int, currency: str,
                   idempotency_key: str) -> list[PaymentEvent]:
    """An authorization asked after the order was already voided: refuse it, charge nothing."""
    return [Declined("voided", user_id, amount_minor, currency, idempotency_key)]


def land_authorization(payment: Payment, decision: Decision) -> list[PaymentEvent]:
    """The events a late processor answer adds to a pending payment. A void that arrived in the
    meantime voids the fresh authorization at once (never captured, so no charge is ever made);
    otherwise an approval asked with capture is captured in the same step."""
    if payment.status is not Status.PENDING:
        return []  # already landed (a resumed task after a crash, or a second task)
    if not decision.approved:
        return [Declined(decision.reason)]
    events: list[PaymentEvent] = [Authorized(payment.amount_minor, payment.currency)]
    if payment.void_requested:
        events.append(Voided())
    elif payment.capture_requested:
        events.append(Captured(payment.amount_minor))
    return events


def capture(payment: Payment, amount_minor: int) -> list[PaymentEvent]:
    """Take the authorized amount, once. An already captured payment needs nothing more;
    anything else that cannot be captured raises ``CaptureRefused``."""
    if payment.status in (Status.CAPTURED, Status.REFUNDED):
        return []
    if payment.status is not Status.AUTHORIZED:
        raise CaptureRefused(f"payment {payment.order_id} is {payment.status}, not authorized")
    if amount_minor != payment.authorized_minor:
        raise CaptureRefused(f"capture of {amount_minor} for payment {payment.order_id} does not "
                             f"match the authorized {payment.authorized_minor}")
    return [Captured(payment.authorized_minor)]


def void(payment: Payment, idempotency_key: str) -> tuple[list[PaymentEvent], VoidOutcome]:
    """Undo whatever the payment holds: void an authorization, refund a capture in full, or
    remember the void for an authorization still to come."""
    match payment.status:
        case Status.AUTHORIZED:
            return [Voided()], "voided"
        case Status.CAPTURED:
            return [Refunded(payment.captured_minor - payment.refunded_minor)], "refunded"
        case Status.NEW | Status.PENDING:
            if payment.void_requested:
                return [], "nothing"
            return [VoidRequested(idempotency_key)], "nothing"
    return [], payment.void_outcome
