"""Domain errors. They know nothing of HTTP: ``payments.app`` maps them to problem+json."""

from __future__ import annotations

__all__ = ["CaptureRefused", "ConcurrencyConflict", "PaymentNotFound", "PaymentsError"]


class PaymentsError(Exception):
    """Base of every error payments raises on purpose."""


class PaymentNotFound(PaymentsError):
    """No payment of the caller has this order id."""


class ConcurrencyConflict(PaymentsError):
    """Another writer appended to the stream since it was read (optimistic concurrency)."""


class CaptureRefused(PaymentsError):
    """A capture that cannot be applied: not authorized, or not the authorized amount."""
