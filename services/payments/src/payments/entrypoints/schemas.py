"""The JSON shapes of the payments API (pydantic), and their mapping from the service's objects."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from payments.domain.payment import Status
from payments.service.ports import PaymentSummary, Stream

__all__ = ["AdminPageOut", "AdminPaymentOut", "EventOut", "PaymentOut", "PaymentPageOut",
           "PaymentSummaryOut"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class EventOut(_Out):
    type: str
    at: datetime


class PaymentOut(_Out):
    order_id: str
    status: str
    amount_minor: int
    currency: str
    captured_minor: int
    refunded_minor: int
    events: list[EventOut]

    @classmethod
    def of(cls, stream: Stream) -> PaymentOut:
        p = stream.payment
        return cls(order_id=p.order_id, status=str(p.status), amount_minor=p.amount_minor,
                   currency=p.currency, captured_minor=p.captured_minor,
                   refunded_minor=p.refunded_minor,
                   events=[EventOut(type=type(e.event).__name__, at=e.recorded_at)
                           for e in stream.events])


class PaymentSummaryOut(_Out):
    order_id: str
    status: str
    amount_minor: int
    currency: str
    captured_minor: int
    refunded_minor: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: PaymentSummary) -> PaymentSummaryOut:
        return cls(order_id=s.order_id, status=s.status, amount_minor=s.amount_minor,
                   currency=s.currency, captured_minor=s.captured_minor,
                   refunded_minor=s.refunded_minor, created_at=s.created_at,
                   updated_at=s.updated_at)


class PaymentPageOut(_Out):
    items: list[PaymentSummaryOut]
    next_cursor: str | None


class AdminPaymentOut(_Out):
    order_id: str
    user_id: str
    status: str
    authorized_minor: int
    captured_minor: int
    refunded_minor: int
    net_minor: int
    captures: int
    voided: bool

    @classmethod
    def of(cls, s: PaymentSummary) -> AdminPaymentOut:
        return cls(order_id=s.order_id, user_id=s.user_id, status=s.status,
                   authorized_minor=s.authorized_minor, captured_minor=s.captured_minor,
                   refunded_minor=s.refunded_minor, net_minor=s.net_minor, captures=s.captures,
                   voided=s.status == Status.VOIDED)


class AdminPageOut(_Out):
    items: list[AdminPaymentOut]
    next: str | None


