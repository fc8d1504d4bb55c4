"""The checkout saga's rules, as a pure state machine."""

from __future__ import annotations

import pytest

from orders.domain.saga import (
    Reply,
    ReplyKind,
    Saga,
    Status,
    Step,
    begin,
    on_reply,
    on_timeout,
)

pytestmark = pytest.mark.unit

NOW = 1000.0
DEADLINES = {Step.RESERVE: 15.0, Step.AUTHORIZE: 5.0, Step.CAPTURE: 10.0, Step.VOID: 5.0,
             Step.RELEASE: 5.0}


def reply(kind: ReplyKind, step: Step, order: str = "o1", reason: str = "") -> Reply:
    return Reply(kind=kind, idempotency_key=f"{order}:{step}", reason=reason)


def run(*replies: Reply) -> Saga:
    saga = begin("o1", NOW, DEADLINES).saga
    for r in replies:
        saga = on_reply(saga, r, NOW, DEADLINES).saga
    return saga


def test_a_new_saga_reserves_stock_with_a_deadline() -> None:
    t = begin("o1", NOW, DEADLINES)
    assert t.saga.status is Status.PENDING and t.saga.step is Step.RESERVE
    assert t.saga.deadline_at == NOW + DEADLINES[Step.RESERVE]
    (command,) = t.commands
    assert (command.step, command.msg_id, command.idempotency_key) == (
        Step.RESERVE, "o1.reserve", "o1:reserve")


def test_happy_path_reserves_then_authorizes_and_captures_in_one_step() -> None:
    t = on_reply(begin("o1", NOW, DEADLINES).saga,
                 reply(ReplyKind.STOCK_RESERVED, Step.RESERVE), NOW, DEADLINES)
    assert t.saga.status is Status.STOCK_RESERVED and t.saga.payment_requested
    (authorize,) = t.commands
    assert (authorize.step, authorize.capture, authorize.msg_id, authorize.idempotency_key) == (
        Step.AUTHORIZE, True, "o1.authorize", "o1:authorize")
    assert t.note == "stock reserved; authorizing and capturing payment"
    t = on_reply(t.saga, reply(ReplyKind.PAYMENT_CAPTURED, Step.AUTHORIZE), NOW, DEADLINES)
    assert t.saga.status is Status.CONFIRMED and t.confirmed and not t.commands
    assert t.saga.deadline_at is None and t.saga.step is Step.DONE
    assert t.note == "payment authorized and captured; confirmed"


def test_two_step_flow_reserves_authorizes_captures_and_confirms() -> None:
    t = on_reply(begin("o1", NOW, DEADLINES).saga,
                 reply(ReplyKind.STOCK_RESERVED, Step.RESERVE), NOW, DEADLINES,
                 capture_on_authorize=False)
    assert t.saga.status is Status.STOCK_RESERVED and t.commands[0].step is Step.AUTHORIZE
    assert t.saga.payment_requested and not t.commands[0].capture
    assert t.note == "stock reserved; authorizing payment"
    t = on_reply(t.saga, reply(ReplyKind.PAYMENT_AUTHORIZED, Step.AUTHORIZE), NOW, DEADLINES)
    assert t.saga.status is Status.PAYMENT_AUTHORIZED and t.commands[0].step is Step.CAPTURE
    assert t.commands[0].idempotency_key == "o1:capture"
    t = on_reply(t.saga, reply(ReplyKind.PAYMENT_CAPTURED, Step.CAPTURE), NOW, DEADLINES)
    assert t.saga.status is Status.CONFIRMED and t.confirmed and not t.commands
    assert t.saga.deadline_at is None and t.note == "payment captured; confirmed"


def test_an_authorization_without_capture_goes_on_to_the_capture_step() -> None:
    # capture was asked, but payments (an older one) only authorized: capture in a step of its own
    saga = run(reply(ReplyKind.STOCK_RESERVED, Step.RESERVE))
    t = on_reply(saga, reply(ReplyKind.PAYMENT_AUTHORIZED, Step.AUTHORIZE), NOW, DEADLINES)
    assert t.saga.status is Status.PAYMENT_AUTHORIZED and t.saga.step is Step.CAPTURE
    (capture,) = t.commands
    assert (capture.msg_id, capture.idempotency_key) == ("o1.capture", "o1:capture")
    t = on_reply(t.saga, reply(ReplyKind.PAYMENT_CAPTURED, Step.CAPTURE), NOW, DEADLINES)
    assert t.saga.status is Status.CONFIRMED and t.confirmed


def test_stock_rejection_cancels_without_compensation() -> None:
    t = on_reply(begin("o1", NOW, DEADLINES).saga,
                 reply(ReplyKind.STOCK_REJECTED, Step.RESERVE, reason="insufficient-stock"), NOW, DEADLINES)
    assert t.saga.status is Status.CANCELLED and t.cancelled and not t.commands
    assert t.saga.reason == "insufficient-stock"


def test_declined_payment_releases_the_stock_then_cancels() -> None:
    saga = run(reply(ReplyKind.STOCK_RESERVED, Step.RESERVE))
    t = on_reply(saga, reply(ReplyKind.PAYMENT_DECLINED, Step.AUTHORIZE), NOW, DEADLINES)
    assert t.saga.status is Status.CANCELLING and t.commands[0].step is Step.RELEASE
    assert t.saga.reason == "payment-declined"
    t = on_reply(t.saga, reply(ReplyKind.STOCK_RELEASED, Step.RELEASE), NOW, DEADLINES)
    assert t.saga.status is Status.CANCELLED and t.cancelled


def test_payment_timeout_voids_first_then_releases_in_reverse_order() -> None:
    saga = run(reply(ReplyKind.STOCK_RESERVED, Step.RESERVE))
    assert on_timeout(saga, NOW + 1, DEADLINES).changed is False  # not yet due
    t = on_timeout(saga, NOW + DEADLINES[Step.AUTHORIZE] + 0.1, DEADLINES)
    assert t.saga.status is Status.CANCELLING and t.commands[0].step is Step.VOID
    assert t.saga.reason == "payment-timeout"
    t = on_reply(t.saga, reply(ReplyKind.PAYMENT_VOIDED, Step.VOID, reason="nothing"), NOW, DEADLINES)
    assert t.commands[0].step is Step.RELEASE
    t = on_reply(t.saga, reply(ReplyKind.STOCK_RELEASED, Step.RELEASE), NOW, DEADLINES)
    assert t.saga.status is Status.CANCELLED


def test_a_late_authorization_after_giving_up_is_voided() -> None:
    saga = run(reply(ReplyKind.STOCK_RESERVED, Step.RESERVE))
    t = on_timeout(saga, NOW + 100, DEADLINES)
    t = on_reply(t.saga, reply(ReplyKind.PAYMENT_VOIDED, Step.VOID), NOW, DEADLINES)
    t = on_reply(t.saga, reply(ReplyKind.STOCK_RELEASED, Step.RELEASE), NOW, DEADLINES)
    assert t.saga.status is Status.CANCELLED
    late = on_reply(t.saga, reply(ReplyKind.PAYMENT_AUTHORIZED, Step.AUTHORIZE), NOW, DEADLINES)
    assert not late.changed and late.saga.status is Status.CANCELLED
    (void,) = late.commands
    assert void.step is Step.VOID and void.msg_id == "o1.void.late"


def test_stale_and_duplicate_replies_are_ignored() -> None:
    saga = run(reply(ReplyKind.STOCK_RESERVED, Step.RESERVE))
    for stale in (reply(ReplyKind.STOCK_RESERVED, Step.RESERVE),
                  reply(ReplyKind.PAYMENT_CAPTURED, Step.CAPTURE),
                  reply(ReplyKind.PAYMENT_AUTHORIZED, Step.AUTHORIZE, order="other"),
                  reply(ReplyKind.PAYMENT_CAPTURED, Step.AUTHORIZE, order="other")):
        t = on_reply(saga, stale, NOW, DEADLINES)
        assert not t.changed and not t.commands and t.saga == saga


def test_a_capture_answering_another_step_than_the_current_one_is_stale() -> None:
    pending = begin("o1", NOW, DEADLINES).saga  # still reserving
    two_step = run(reply(ReplyKind.STOCK_RESERVED, Step.RESERVE),
                   reply(ReplyKind.PAYMENT_AUTHORIZED, Step.AUTHORIZE))  # at the capture step
    for saga in (pending, two_step):
        t = on_reply(saga, reply(ReplyKind.PAYMENT_CAPTURED, Step.AUTHORIZE), NOW, DEADLINES)
        assert not t.changed and not t.commands and t.saga == saga
        assert t.note.startswith("stale payment-captured")


def test_a_duplicate_capture_after_the_confirmation_is_stale_not_refunded() -> None:
    confirmed = run(reply(ReplyKind.STOCK_RESERVED, Step.RESERVE),
                    reply(ReplyKind.PAYMENT_CAPTURED, Step.AUTHORIZE))
    assert confirmed.status is Status.CONFIRMED
    for late in (reply(ReplyKind.PAYMENT_CAPTURED, Step.AUTHORIZE),
                 reply(ReplyKind.PAYMENT_AUTHORIZED, Step.AUTHORIZE)):
        t = on_reply(confirmed, late, NOW, DEADLINES)
        assert not t.changed and not t.commands and t.saga == confirmed


def test_a_declined_authorize_and_capture_releases_the_stock_without_a_void() -> None:
    saga = run(reply(ReplyKind.STOCK_RESERVED, Step.RESERVE))
    t = on_reply(saga, reply(ReplyKind.PAYMENT_DECLINED, Step.AUTHORIZE, reason="card-declined"),
                 NOW, DEADLINES)
    assert t.saga.status is Status.CANCELLING and [c.step for c in t.commands] == [Step.RELEASE]
    assert t.saga.reason == "payment-declined"


def test_an_authorize_and_capture_past_its_deadline_is_voided_then_released() -> None:
    saga = run(reply(ReplyKind.STOCK_RESERVED, Step.RESERVE))
    t = on_timeout(saga, NOW + DEADLINES[Step.AUTHORIZE] + 0.1, DEADLINES)
    assert t.saga.status is Status.CANCELLING and t.commands[0].step is Step.VOID
    assert t.saga.reason == "payment-timeout"
    # payments had captured it meanwhile: the void refunds it
    t = on_reply(t.saga, reply(ReplyKind.PAYMENT_VOIDED, Step.VOID, reason="refunded"), NOW,
                 DEADLINES)
    assert t.commands[0].step is Step.RELEASE and "refunded" in t.note
    t = on_reply(t.saga, reply(ReplyKind.STOCK_RELEASED, Step.RELEASE), NOW, DEADLINES)
    assert t.saga.status is Status.CANCELLED and t.cancelled


def test_a_capture_that_lands_after_the_saga_gave_up_is_refunded() -> None:
    saga = run(reply(ReplyKind.STOCK_RESERVED, Step.RESERVE))
    cancelling = on_timeout(saga, NOW + 100, DEADLINES).saga
    cancelled = run_from(cancelling, reply(ReplyKind.PAYMENT_VOIDED, Step.VOID),
                         reply(ReplyKind.STOCK_RELEASED, Step.RELEASE))
    assert cancelled.status is Status.CANCELLED
    for gave_up in (cancelling, cancelled):  # while compensating, and after
        late = on_reply(gave_up, reply(ReplyKind.PAYMENT_CAPTURED, Step.AUTHORIZE), NOW,
                        DEADLINES)
        assert not late.changed and late.saga == gave_up
        (void,) = late.commands
        assert (void.step, void.late, void.msg_id, void.idempotency_key) == (
            Step.VOID, True, "o1.void.late", "o1:void")
        assert late.note == "late payment capture; refunding it"


def run_from(saga: Saga, *replies: Reply) -> Saga:
    for r in replies:
        saga = on_reply(saga, r, NOW, DEADLINES).saga
    return saga


def test_capture_is_sent_again_until_answered_never_compensated() -> None:
    saga = run(reply(ReplyKind.STOCK_RESERVED, Step.RESERVE),
               reply(ReplyKind.PAYMENT_AUTHORIZED, Step.AUTHORIZE))
    t = on_timeout(saga, NOW + 1000, DEADLINES)
    assert t.saga.status is Status.PAYMENT_AUTHORIZED and t.saga.attempt == 2
    (again,) = t.commands
    assert again.step is Step.CAPTURE and again.msg_id == "o1.capture.2"
    assert again.idempotency_key == "o1:capture"
    assert t.saga.deadline_at == NOW + 1000 + 2 * DEADLINES[Step.CAPTURE]


def test_a_stock_reservation_that_times_out_is_released_to_be_safe() -> None:
    t = on_timeout(begin("o1", NOW, DEADLINES).saga, NOW + 1000, DEADLINES)
    assert t.saga.status is Status.CANCELLING and t.commands[0].step is Step.RELEASE
    assert t.saga.reason == "inventory-timeout"
    again = on_timeout(t.saga, NOW + 2000, DEADLINES)
    assert again.commands[0].msg_id == "o1.release.2"
