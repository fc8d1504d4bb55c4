"""The checkout saga's rules, as a pure state machine."""

from __future__ import annotations

import pytest

from orders.domain.saga import (
    DEADLINES,
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


def reply(kind: ReplyKind, step: Step, order: str = "o1", reason: str = "") -> Reply:
    return Reply(kind=kind, idempotency_key=f"{order}:{step}", reason=reason)


def run(*replies: Reply) -> Saga:
    saga = begin("o1", NOW).saga
    for r in replies:
        saga = on_reply(saga, r, NOW).saga
    return saga


def test_a_new_saga_reserves_stock_with_a_deadline() -> None:
    t = begin("o1", NOW)
    assert t.saga.status is Status.PENDING and t.saga.step is Step.RESERVE
    assert t.saga.deadline_at == NOW + DEADLINES[Step.RESERVE]
    (command,) = t.commands
    assert (command.step, command.msg_id, command.idempotency_key) == (
        Step.RESERVE, "o1.reserve", "o1:reserve")


def test_happy_path_reserves_authorizes_captures_and_confirms() -> None:
    t = on_reply(begin("o1", NOW).saga, reply(ReplyKind.STOCK_RESERVED, Step.RESERVE), NOW)
    assert t.saga.status is Status.STOCK_RESERVED and t.commands[0].step is Step.AUTHORIZE
    assert t.saga.payment_requested
    t = on_reply(t.saga, reply(ReplyKind.PAYMENT_AUTHORIZED, Step.AUTHORIZE), NOW)
    assert t.saga.status is Status.PAYMENT_AUTHORIZED and t.commands[0].step is Step.CAPTURE
    t = on_reply(t.saga, reply(ReplyKind.PAYMENT_CAPTURED, Step.CAPTURE), NOW)
    assert t.saga.status is Status.CONFIRMED and t.confirmed and not t.commands
    assert t.saga.deadline_at is None


def test_stock_rejection_cancels_without_compensation() -> None:
    t = on_reply(begin("o1", NOW).saga,
                 reply(ReplyKind.STOCK_REJECTED, Step.RESERVE, reason="insufficient-stock"), NOW)
    assert t.saga.status is Status.CANCELLED and t.cancelled and not t.commands
    assert t.saga.reason == "insufficient-stock"


def test_declined_payment_releases_the_stock_then_cancels() -> None:
    saga = run(reply(ReplyKind.STOCK_RESERVED, Step.RESERVE))
    t = on_reply(saga, reply(ReplyKind.PAYMENT_DECLINED, Step.AUTHORIZE), NOW)
    assert t.saga.status is Status.CANCELLING and t.commands[0].step is Step.RELEASE
    assert t.saga.reason == "payment-declined"
    t = on_reply(t.saga, reply(ReplyKind.STOCK_RELEASED, Step.RELEASE), NOW)
    assert t.saga.status is Status.CANCELLED and t.cancelled


def test_payment_timeout_voids_first_then_releases_in_reverse_order() -> None:
    saga = run(reply(ReplyKind.STOCK_RESERVED, Step.RESERVE))
    assert on_timeout(saga, NOW + 1).changed is False  # not yet due
    t = on_timeout(saga, NOW + DEADLINES[Step.AUTHORIZE] + 0.1)
    assert t.saga.status is Status.CANCELLING and t.commands[0].step is Step.VOID
    assert t.saga.reason == "payment-timeout"
    t = on_reply(t.saga, reply(ReplyKind.PAYMENT_VOIDED, Step.VOID, reason="nothing"), NOW)
    assert t.commands[0].step is Step.RELEASE
    t = on_reply(t.saga, reply(ReplyKind.STOCK_RELEASED, Step.RELEASE), NOW)
    assert t.saga.status is Status.CANCELLED


def test_a_late_authorization_after_giving_up_is_voided() -> None:
    saga = run(reply(ReplyKind.STOCK_RESERVED, Step.RESERVE))
    t = on_timeout(saga, NOW + 100)
    t = on_reply(t.saga, reply(ReplyKind.PAYMENT_VOIDED, Step.VOID), NOW)
    t = on_reply(t.saga, reply(ReplyKind.STOCK_RELEASED, Step.RELEASE), NOW)
    assert t.saga.status is Status.CANCELLED
    late = on_reply(t.saga, reply(ReplyKind.PAYMENT_AUTHORIZED, Step.AUTHORIZE), NOW)
    assert not late.changed and late.saga.status is Status.CANCELLED
    (void,) = late.commands
    assert void.step is Step.VOID and void.msg_id == "o1.void.late"


def test_stale_and_duplicate_replies_are_ignored() -> None:
    saga = run(reply(ReplyKind.STOCK_RESERVED, Step.RESERVE))
    for stale in (reply(ReplyKind.STOCK_RESERVED, Step.RESERVE),
                  reply(ReplyKind.PAYMENT_CAPTURED, Step.CAPTURE),
                  reply(ReplyKind.PAYMENT_AUTHORIZED, Step.AUTHORIZE, order="other")):
        t = on_reply(saga, stale, NOW)
        assert not t.changed and not t.commands and t.saga == saga


def test_capture_is_sent_again_until_answered_never_compensated() -> None:
    saga = run(reply(ReplyKind.STOCK_RESERVED, Step.RESERVE),
               reply(ReplyKind.PAYMENT_AUTHORIZED, Step.AUTHORIZE))
    t = on_timeout(saga, NOW + 1000)
    assert t.saga.status is Status.PAYMENT_AUTHORIZED and t.saga.attempt == 2
    (again,) = t.commands
    assert again.step is Step.CAPTURE and again.msg_id == "o1.capture.2"
    assert again.idempotency_key == "o1:capture"
    assert t.saga.deadline_at == NOW + 1000 + 2 * DEADLINES[Step.CAPTURE]


def test_a_stock_reservation_that_times_out_is_released_to_be_safe() -> None:
    t = on_timeout(begin("o1", NOW).saga, NOW + 1000)
    assert t.saga.status is Status.CANCELLING and t.commands[0].step is Step.RELEASE
    assert t.saga.reason == "inventory-timeout"
    again = on_timeout(t.saga, NOW + 2000)
    assert again.commands[0].msg_id == "o1.release.2"
