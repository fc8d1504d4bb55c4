"""What the payments entrypoints share, built once by the composition root (app.py)."""

from __future__ import annotations

from dataclasses import dataclass

from payments.service.late_authorizations import LateAuthorizer
from payments.service.ports import PaymentMetrics, PaymentsUnitOfWork

__all__ = ["PaymentsContext"]


@dataclass(frozen=True)
class PaymentsContext:
    uow: PaymentsUnitOfWork
    metrics: PaymentMetrics
    late: LateAuthorizer
