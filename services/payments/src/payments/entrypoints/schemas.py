"""The payments API's bodies, as msgspec Structs (their JSON Schemas are the OpenAPI document's),
and their mapping from the service's objects."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import msgspec

from payments.domain.payment import Status
from payments.service.ports import PaymentSummary, Stream

__all__ = ["AdminPaymentOut", "EventOut", "PaymentOut", "PaymentSummaryOut"]

PaymentStatus = Literal["new", "void_requested", "pending", "authorized", "declined",
                        "captured", "voided", "refunded"]


class EventOut(msgspec.Struct, frozen=True):
    type: str
    at: datetime


class _PaymentAmounts(msgspec.Struct, frozen=True):
    """What a payment's detail and its listing row both show: its order, status and amounts."""

    order_id: str
    status: PaymentStatus
    amount_minor: int
    currency: str
    captured_minor: int
    refunded_minor: int


class PaymentOut(_PaymentAmounts, frozen=True):
    events: list[EventOut]

    @classmethod
    def of(cls, stream: Stream) -> PaymentOut:
        p = stream.payment
        return cls(p.order_id, p.status.value, p.amount_minor,
                   p.currency, p.captured_minor, p.refunded_minor,
                   [EventOut(type(e.event).__name__, e.recorded_at) for e in stream.events])


class PaymentSummaryOut(_PaymentAmounts, frozen=True):
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, s: PaymentSummary) -> PaymentSummaryOut:
        return cls(s.order_id, s.status, s.amount_minor,  # type: ignore[arg-type]
                   s.currency, s.captured_minor, s.refunded_minor, s.created_at, s.updated_at)


class AdminPaymentOut(msgspec.Struct, frozen=True):
    order_id: str
    user_id: str
    status: PaymentStatus
    authorized_minor: int
    captured_minor: int
    refunded_minor: int
    net_minor: int
    captures: int
    voided: bool

    @classmethod
    def of(cls, s: PaymentSummary) -> AdminPaymentOut:
        return cls(s.order_id, s.user_id, s.status,  # type: ignore[arg-type]
                   s.authorized_minor, s.captured_minor, s.refunded_minor, s.net_minor,
                   s.captures, s.status == Status.VOIDED)
