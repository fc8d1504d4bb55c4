"""The saga's commands, each inside the transaction of the batch that delivered it.

Nothing here waits on the network or calls the processor: an authorization is recorded as
``AuthorizationRequested``, claimed by this instance and handed back to the caller, who gives it
to the ``LateAuthorizer`` (``service/late_authorizations.py``) once the transaction has committed;
a transaction rolled back and applied again therefore never asks the processor twice.
Business metrics are counted after the commit too, so a batch that is rolled back and applied
again counts nothing twice.
"""

from __future__ import annotations

from contracts.payments import (
    AuthorizePayment,
    CapturePayment,
    PaymentAuthorized,
    PaymentCaptured,
    PaymentDeclined,
    PaymentVoided,
    VoidPayment,
)
from payments.domain import payment as rules
from payments.domain.cards import card_token_kind
from payments.domain.events import (
    AuthorizationRequested,
    Authorized,
    Captured,
    Declined,
    PaymentEvent,
    Refunded,
    Voided,
)
from payments.domain.payment import Payment, Status
from payments.service.ports import (
    AuthorizationRequest,
    Lease,
    PaymentMetrics,
    PaymentsRepository,
    Stream,
)

__all__ = ["Decided", "authorize_payment", "capture_payment", "decision_reply", "record",
           "request_of", "void_payment"]


Decided = PaymentAuthorized | PaymentCaptured | PaymentDeclined


def decision_reply(payment: Payment, idempotency_key: str, *, capture: bool) -> Decided:
    """The answer to an AuthorizePayment about a payment already decided: ``PaymentCaptured``
    when capture was asked and the payment was captured, else ``PaymentAuthorized`` (also for an
    authorization since voided, or one decided without capture: the asker then captures in a
    step of its own), or ``PaymentDeclined``."""
    if not payment.was_authorized:
        return PaymentDeclined(order_id=payment.order_id, idempotency_key=idempotency_key,
                               reason=payment.decline_reason)
    if capture and payment.captures:
        return PaymentCaptured(order_id=payment.order_id, idempotency_key=idempotency_key,
                               payment_id=payment.order_id, amount_minor=payment.captured_minor,
                               currency=payment.currency)
    return PaymentAuthorized(order_id=payment.order_id, idempotency_key=idempotency_key,
                             payment_id=payment.order_id,
                             amount_minor=payment.authorized_minor, currency=payment.currency)


def request_of(payment: Payment) -> AuthorizationRequest:
    """The processor request of a pending payment, rebuilt from its stream."""
    return AuthorizationRequest(payment.order_id, payment.idempotency_key, payment.amount_minor,
                                payment.currency, payment.card_token_kind)


async def record(payments: PaymentsRepository, metrics: PaymentMetrics, stream: Stream,
                 events: list[PaymentEvent]) -> Stream:
    """Append ``events`` (when there are any) and count them once committed: the stream after."""
    if not events:
        return stream
    appended = await payments.append(stream, events)
    payments.after_commit(lambda: _count(metrics, events))
    return appended


def _count(metrics: PaymentMetrics, events: list[PaymentEvent]) -> None:
    for event in events:
        match event:
            case Authorized():
                metrics.authorization("authorized")
            case Declined():
                metrics.authorization("declined")
            case Captured():
                metrics.captured()
            case Voided():
                metrics.voided()
            case Refunded():
                metrics.refunded()
            case _:
                pass


async def authorize_payment(payments: PaymentsRepository, metrics: PaymentMetrics,
                            cmd: AuthorizePayment, reply_id: str, lease: Lease,
                            now: float) -> AuthorizationRequest | None:
    """Record the request and claim it for ``lease.owner``, and return it: the caller hands it
    to the late authorizer once this transaction has committed, which asks the processor (never
    from inside this transaction, which may yet be rolled back and applied again). With
    ``cmd.capture`` an approval is captured in the same transaction as it lands, and answered
    ``PaymentCaptured``. A repeated command is answered again from the stream, never charged
    again; one for a payment still waiting is handed over only if no other instance holds it."""
    stream = await payments.load(cmd.order_id)
    payment = stream.payment
    if payment.decided:
        payments.publish(decision_reply(payment, cmd.idempotency_key, capture=cmd.capture),
                         msg_id=reply_id)
        return None
    if payment.status is Status.PENDING:  # already asked; the answer will come (once)
        return request_of(payment) if await payments.claim(cmd.order_id, lease, now) else None
    if payment.void_requested:
        stream = await record(payments, metrics, stream, rules.decline_voided(
            payment, user_id=cmd.user_id, amount_minor=cmd.amount_minor, currency=cmd.currency,
            idempotency_key=cmd.idempotency_key))
        payments.publish(decision_reply(stream.payment, cmd.idempotency_key,
                                        capture=cmd.capture), msg_id=reply_id)
        return None
    request = AuthorizationRequest(cmd.order_id, cmd.idempotency_key, cmd.amount_minor,
                                   cmd.currency, card_token_kind(cmd.card_token))
    await payments.append(stream, [AuthorizationRequested(
        cmd.user_id, cmd.amount_minor, cmd.currency, request.card_token_kind,
        cmd.idempotency_key, cmd.capture)], claim=(lease, now))  # the row is this transaction's
    return request


async def capture_payment(payments: PaymentsRepository, metrics: PaymentMetrics,
                          cmd: CapturePayment, reply_id: str) -> None:
    """Capture the authorized amount once; a repeated capture is answered again, never charged
    again. ``CaptureRefused`` (nothing appended, nothing replied) when it cannot be captured."""
    stream = await payments.load(cmd.order_id)
    stream = await record(payments, metrics, stream, rules.capture(stream.payment, cmd.amount_minor))
    payment = stream.payment
    payments.publish(PaymentCaptured(
        order_id=cmd.order_id, idempotency_key=cmd.idempotency_key, payment_id=payment.order_id,
        amount_minor=payment.captured_minor, currency=payment.currency), msg_id=reply_id)


async def void_payment(payments: PaymentsRepository, metrics: PaymentMetrics, cmd: VoidPayment,
                       reply_id: str) -> None:
    """Undo what the payment holds and say what was undone."""
    stream = await payments.load(cmd.order_id)
    events, outcome = rules.void(stream.payment, cmd.idempotency_key)
    await record(payments, metrics, stream, events)
    payments.publish(PaymentVoided(order_id=cmd.order_id, idempotency_key=cmd.idempotency_key,
                                  outcome=outcome), msg_id=reply_id)
