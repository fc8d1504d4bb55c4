"""Payments in each state the saga can meet, as the events that lead there (shared by the
domain and service tests)."""

from __future__ import annotations

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

REQUESTED = AuthorizationRequested("u1", 1500, "EUR", "timeout", "o1:authorize")
REQUESTED_CAPTURE = AuthorizationRequested("u1", 1500, "EUR", "timeout", "o1:authorize",
                                           capture=True)
AUTHORIZED = Authorized(1500, "EUR", "u1", "o1:authorize")

STATES: dict[str, list[PaymentEvent]] = {
    "new": [],
    "void_requested": [VoidRequested("o1:void")],
    "pending": [REQUESTED],
    "pending_void_requested": [REQUESTED, VoidRequested("o1:void")],
    "authorized": [AUTHORIZED],
    "declined": [Declined("card-declined", "u1", 1500, "EUR", "o1:authorize")],
    "captured": [AUTHORIZED, Captured(1500)],
    "voided": [AUTHORIZED, Voided()],
    "refunded": [AUTHORIZED, Captured(1500), Refunded(1500)],
    "late_voided": [REQUESTED, VoidRequested("o1:void"), Authorized(1500, "EUR"), Voided()],
    # capture on authorization, answered late
    "pending_capture": [REQUESTED_CAPTURE],
    "pending_capture_void_requested": [REQUESTED_CAPTURE, VoidRequested("o1:void")],
    "late_captured": [REQUESTED_CAPTURE, Authorized(1500, "EUR"), Captured(1500)],
    "late_captured_refunded": [REQUESTED_CAPTURE, Authorized(1500, "EUR"), Captured(1500),
                               Refunded(1500)],
}
