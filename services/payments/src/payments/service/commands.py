"""The saga's commands, each inside the transaction of the batch that delivered it.

Nothing here waits on the network: an authorization the processor cannot answer at once is
recorded as ``AuthorizationRequested`` and handed back to the caller, who gives it to the
``LateAuthorizer`` (``service/late_authorizations.py``).
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
from payments.domain.events import AuthorizationRequested, Authorized, Declined, Refunded, Voided
from payments.domain.payment import Payment, Status
from payments.service.ports import (
    AuthorizationRequest,
    CardProcessor,
    PaymentMetrics,
    Session,
    Stream,
)

__all__ = ["authorize_payment", "capture_payment", "count_events", "decision_reply",
           "request_of", "void_payment"]


def decision_reply(payment: Payment, idempotency_key: str) -> PaymentAuthorized | PaymentDeclined:
    """The answer to an AuthorizePayment about a payment already decided."""
    if payment.was_authorized:
        return PaymentAuthorized(order_id=payment.order_id, idempotency_key=idempotency_key,
                                 payment_id=payment.order_id,
                                 amount_minor=payment.authorized_minor, currency=payment.currency)
    return PaymentDeclined(order_id=payment.order_id, idempotency_key=idempotency_key,
                           reason=payment.decline_reason)


def request_of(payment: Payment) -> AuthorizationRequest:
    """The processor request of a pending payment, rebuilt from its stream."""
    return AuthorizationRequest(payment.order_id, payment.idempotency_key, payment.amount_minor,
                                payment.currency, payment.card_token_kind)


def count_events(metrics: PaymentMetrics, stream: Stream, since: int) -> None:
    """Count the business events appended after version ``since``."""
    for stored in stream.events[since:]:
        match stored.event:
            case Authorized():
                metrics.authorization("authorized")
            case Declined():
                metrics.authorization("declined")
            case Voided():
                metrics.voided()
            case Refunded():
                metrics.refunded()
            case _:
                pass


async def authorize_payment(session: Session, processor: CardProcessor, metrics: PaymentMetrics,
                            cmd: AuthorizePayment, reply_id: str) -> AuthorizationRequest | None:
    """Decide now if the processor can, else record the request and return it (the caller
    hands it to the late authorizer once this transaction is done)."""
    stream = await session.ledger.load(cmd.order_id)
    payment = stream.payment
    if payment.decided:
        session.publish(decision_reply(payment, cmd.idempotency_key), msg_id=reply_id)
        return None
    if payment.status is Status.PENDING:
        return request_of(payment)  # already asked; the answer will come (once)
    if payment.void_requested:
        stream = await session.ledger.append(stream, rules.decline_voided(
            payment, user_id=cmd.user_id, amount_minor=cmd.amount_minor, currency=cmd.currency,
            idempotency_key=cmd.idempotency_key))
        count_events(metrics, stream, payment.version)
        session.publish(decision_reply(stream.payment, cmd.idempotency_key), msg_id=reply_id)
        return None
    request = AuthorizationRequest(cmd.order_id, cmd.idempotency_key, cmd.amount_minor,
                                   cmd.currency, card_token_kind(cmd.card_token))
    decision = processor.answer_now(request)
    if decision is None:
        await session.ledger.append(stream, [AuthorizationRequested(
            cmd.user_id, cmd.amount_minor, cmd.currency, request.card_token_kind,
            cmd.idempotency_key)])
        return request
    metrics.processor_latency(0.0)
    event = (Authorized(cmd.amount_minor, cmd.currency, cmd.user_id, cmd.idempotency_key)
             if decision.approved else
             Declined(decision.reason, cmd.user_id, cmd.amount_minor, cmd.currency,
                      cmd.idempotency_key))
    stream = await session.ledger.append(stream, [event])
    count_events(metrics, stream, payment.version)
    session.publish(decision_reply(stream.payment, cmd.idempotency_key), msg_id=reply_id)
    return None


async def capture_payment(session: Session, metrics: PaymentMetrics, cmd: CapturePayment,
                          reply_id: str) -> None:
    """Capture the authorized amount once; a repeated capture is answered again, never charged
    again. ``CaptureRefused`` (nothing appended, nothing replied) when it cannot be captured."""
    stream = await session.ledger.load(cmd.order_id)
    events = rules.capture(stream.payment, cmd.amount_minor)
    if events:
        stream = await session.ledger.append(stream, events)
        metrics.captured()
    payment = stream.payment
    session.publish(PaymentCaptured(
        order_id=cmd.order_id, idempotency_key=cmd.idempotency_key, payment_id=payment.order_id,
        amount_minor=payment.captured_minor, currency=payment.currency), msg_id=reply_id)


async def void_payment(session: Session, metrics: PaymentMetrics, cmd: VoidPayment,
                       reply_id: str) -> None:
    """Undo what the payment holds and say what was undone."""
    stream = await session.ledger.load(cmd.order_id)
    before = stream.version
    events, outcome = rules.void(stream.payment, cmd.idempotency_key)
    if events:
        stream = await session.ledger.append(stream, events)
        count_events(metrics, stream, before)
    session.publish(PaymentVoided(order_id=cmd.order_id, idempotency_key=cmd.idempotency_key,
                                  outcome=outcome), msg_id=reply_id)
