"""Payments as the saga sees it: commands published to a real nats-server, replies read back
from the JetStream stream, the ledger checked in the database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import nats
import orjson
import pytest
from nats.js import JetStreamContext

from chassis.db import Database
from chassis.testing.service import RunningService
from contracts import Message, encode
from contracts.payments import AuthorizePayment, CapturePayment, VoidPayment
from payments.adapters.fake_processor import FakeCardProcessor
from payments.domain.events import AuthorizationRequested
from payments.service.ports import Stream

from ..conftest import StartPayments, record, sql_uow

pytestmark = pytest.mark.integration

TIMEOUT_DELAY = 0.5
REPLY_TYPES = ("payments.PaymentAuthorized.v1", "payments.PaymentDeclined.v1",
               "payments.PaymentCaptured.v1", "payments.PaymentVoided.v1")


@dataclass
class Payments:
    service: RunningService
    js: JetStreamContext
    db: Database

    async def send(self, message: Message, msg_id: str, *, nats_msg_id: str | None = None) -> None:
        await self.js.publish(f"souk.{message.TYPE}", encode(message),
                              headers={"Nats-Msg-Id": nats_msg_id or msg_id,
                                       "Souk-Msg-Id": msg_id, "Souk-Type": message.TYPE,
                                       "Souk-Correlation-Id": getattr(message, "order_id", "")})

    async def replies(self, order_id: str, count: int,
                      timeout: float = 10.0) -> list[tuple[str, str, dict[str, Any]]]:
        """(type, message id, body) of the first ``count`` replies about ``order_id``,
        read from the start of the stream."""
        deadline = time.monotonic() + timeout
        while True:
            found = await self._read_replies(order_id)
            if len(found) >= count or time.monotonic() > deadline:
                return found
            await asyncio.sleep(0.05)

    async def _read_replies(self, order_id: str) -> list[tuple[str, str, dict[str, Any]]]:
        sub = await self.js.subscribe("souk.payments.>", ordered_consumer=True)
        found = []
        try:
            while True:
                try:
                    msg = await sub.next_msg(timeout=0.2)
                except nats.errors.TimeoutError:
                    return found
                headers = msg.headers or {}
                kind = msg.subject.removeprefix("souk.")
                if kind not in REPLY_TYPES:
                    continue
                body = orjson.loads(msg.data)
                if body.get("order_id") == order_id:
                    found.append((kind.split(".")[1], headers["Nats-Msg-Id"], body))
        finally:
            await sub.unsubscribe()

    async def stream(self, order_id: str) -> Stream:
        async with sql_uow(self.db)(readonly=True) as ledger:
            return await ledger.load(order_id)


Run = Callable[[], AbstractAsyncContextManager[Payments]]


@pytest.fixture
def running(start_payments: StartPayments, database: Database, nats_url: str) -> Run:
    """``async with running() as payments:`` — payments serving this test's database."""

    @asynccontextmanager
    async def run() -> AsyncIterator[Payments]:
        async with start_payments(timeout_delay=TIMEOUT_DELAY,
                                  pending_sweep_interval=1) as service:
            nc = await nats.connect(nats_url)
            try:
                yield Payments(service, nc.jetstream(), database)
            finally:
                await nc.close()

    return run


@pytest.fixture
async def payments(running: Run) -> AsyncIterator[Payments]:
    async with running() as started:
        yield started


def authorize(order_id: str, token: str, amount: int = 2500, *,
              capture: bool = False) -> AuthorizePayment:
    return AuthorizePayment(order_id=order_id, idempotency_key=f"{order_id}:authorize",
                            user_id="u1", amount_minor=amount, currency="EUR", card_token=token,
                            capture=capture)


def event_types(stream: Stream) -> list[str]:
    return [type(e.event).__name__ for e in stream.events]


async def test_a_good_card_is_authorized_and_captured_once(payments: Payments) -> None:
    await payments.send(authorize("o1", "tok_visa"), "o1.authorize")
    [(kind, msg_id, body)] = await payments.replies("o1", 1)
    assert (kind, msg_id) == ("PaymentAuthorized", "o1.authorize.late")  # asked after commit
    assert body["idempotency_key"] == "o1:authorize" and body["amount_minor"] == 2500
    capture = CapturePayment(order_id="o1", idempotency_key="o1:capture", amount_minor=2500)
    await payments.send(capture, "o1.capture")
    await payments.send(capture, "o1.capture.2")  # re-sent by the saga: answered, not charged
    replies = await payments.replies("o1", 3)
    assert [r[0] for r in replies] == ["PaymentAuthorized", "PaymentCaptured", "PaymentCaptured"]
    stream = await payments.stream("o1")
    assert event_types(stream) == ["AuthorizationRequested", "Authorized", "Captured"]
    assert stream.payment.net_minor == 2500
    metrics = (await payments.service.call("GET", "/metrics", user=None)).body
    assert 'souk_payments_authorizations_total{outcome="authorized"} 1.0' in metrics
    assert "souk_payments_captures_total 1.0" in metrics


async def test_a_declined_card_is_answered_with_the_reason(payments: Payments) -> None:
    await payments.send(authorize("o2", "tok_decline"), "o2.authorize")
    [(kind, _, body)] = await payments.replies("o2", 1)
    assert (kind, body["reason"]) == ("PaymentDeclined", "card-declined")


async def test_the_timeout_token_is_authorized_late(payments: Payments) -> None:
    started = time.monotonic()
    await payments.send(authorize("o3", "tok_timeout"), "o3.authorize")
    [(kind, msg_id, body)] = await payments.replies("o3", 1)
    assert time.monotonic() - started >= TIMEOUT_DELAY
    assert (kind, msg_id, body["idempotency_key"]) == (
        "PaymentAuthorized", "o3.authorize.late", "o3:authorize")
    assert event_types(await payments.stream("o3")) == ["AuthorizationRequested", "Authorized"]


async def test_a_void_before_the_late_authorization_leaves_no_charge(payments: Payments) -> None:
    await payments.send(authorize("o4", "tok_timeout"), "o4.authorize")
    await payments.send(VoidPayment(order_id="o4", idempotency_key="o4:void"), "o4.void.1")
    replies = await payments.replies("o4", 3)
    assert [(r[0], r[1], r[2].get("outcome")) for r in replies] == [
        ("PaymentVoided", "o4.void.1.r", "nothing"),
        ("PaymentAuthorized", "o4.authorize.late", None),
        ("PaymentVoided", "o4.authorize.late.voided", "voided")]
    stream = await payments.stream("o4")
    assert event_types(stream) == ["AuthorizationRequested", "VoidRequested", "Authorized",
                                   "Voided"]
    assert stream.payment.net_minor == 0 and stream.payment.status == "voided"


async def test_the_sagas_late_void_is_not_taken_for_the_landed_void(payments: Payments) -> None:
    """Payments' own void of a late approval and the saga's late void are two producers' two
    messages: neither may take the other's id, or JetStream's dedupe drops the second."""
    await payments.send(authorize("o7", "tok_timeout"), "o7.authorize")
    await payments.send(VoidPayment(order_id="o7", idempotency_key="o7:void"), "o7.void")
    assert len(await payments.replies("o7", 3)) == 3  # void, late approval, its void
    # the saga's answer to the late PaymentAuthorized: its own void (orders' id for it)
    await payments.send(VoidPayment(order_id="o7", idempotency_key="o7:void"), "o7.void.late")
    replies = await payments.replies("o7", 4)
    assert len({msg_id for _, msg_id, _ in replies}) == 4
    assert (replies[-1][0], replies[-1][1]) == ("PaymentVoided", "o7.void.late.r")


async def test_a_redelivered_command_appends_one_event(payments: Payments) -> None:
    command = authorize("o5", "tok_visa")
    await payments.send(command, "o5.authorize")
    # the same message again, past JetStream's dedupe (another Nats-Msg-Id): the inbox drops it
    await payments.send(command, "o5.authorize", nats_msg_id="o5.authorize.replayed")
    await payments.send(command, "o5.authorize")  # and JetStream drops this one
    await payments.replies("o5", 1)
    await asyncio.sleep(0.5)
    assert len(await payments.replies("o5", 2, timeout=0.5)) == 1
    assert event_types(await payments.stream("o5")) == ["AuthorizationRequested", "Authorized"]


async def test_a_payment_left_waiting_by_a_crash_is_authorized_after_the_restart(
        database: Database, running: Run) -> None:
    await record(database, "o6", AuthorizationRequested("u1", 900, "EUR", "timeout",
                                                        "o6:authorize"))
    async with running() as payments:
        [(kind, msg_id, body)] = await payments.replies("o6", 1)
        assert (kind, msg_id, body["amount_minor"]) == ("PaymentAuthorized", "o6.authorize.late",
                                                        900)


async def test_a_batch_rolled_back_does_not_ask_the_processor_twice(
        start_payments: StartPayments, database: Database, nats_url: str) -> None:
    """The processor is called once the payment's request is committed, never from inside a
    batch: a batch rolled back (here by a message that does not parse) and applied again
    message by message would have asked it twice."""
    async with start_payments():
        pass  # the stream and the durable consumer exist; nothing is waiting
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        for order_id in ("b1", "b2"):
            await js.publish(f"souk.{AuthorizePayment.TYPE}",
                             encode(authorize(order_id, "tok_visa", capture=True)),
                             headers={"Nats-Msg-Id": f"{order_id}.authorize",
                                      "Souk-Correlation-Id": order_id})
        await js.publish(f"souk.{AuthorizePayment.TYPE}", b"not json",
                         headers={"Nats-Msg-Id": "b3.authorize"})
        card = FakeCardProcessor()
        async with start_payments(processor=card) as service:
            payments = Payments(service, js, database)
            for order_id in ("b1", "b2"):  # the three arrive in one batch
                [(kind, _, _)] = await payments.replies(order_id, 1)
                assert kind == "PaymentCaptured"
            assert card.asked == {"b1:authorize": 1, "b2:authorize": 1}
    finally:
        await nc.close()


# --- capture on authorization -----------------------------------------------------------------

async def test_a_good_card_asked_with_capture_is_captured_in_the_same_step(
        payments: Payments) -> None:
    await payments.send(authorize("c1", "tok_visa", capture=True), "c1.authorize")
    [(kind, msg_id, body)] = await payments.replies("c1", 1)
    assert (kind, msg_id) == ("PaymentCaptured", "c1.authorize.late")
    assert body["idempotency_key"] == "c1:authorize" and body["amount_minor"] == 2500
    stream = await payments.stream("c1")
    assert event_types(stream) == ["AuthorizationRequested", "Authorized", "Captured"]
    assert stream.payment.net_minor == 2500 and stream.payment.captures == 1
    metrics = (await payments.service.call("GET", "/metrics", user=None)).body
    assert 'souk_payments_authorizations_total{outcome="authorized"} 1.0' in metrics
    assert "souk_payments_captures_total 1.0" in metrics


async def test_a_repeated_authorize_and_capture_is_answered_again_and_charged_once(
        payments: Payments) -> None:
    command = authorize("c2", "tok_visa", capture=True)
    await payments.send(command, "c2.authorize")
    await payments.send(command, "c2.authorize", nats_msg_id="c2.authorize.replayed")  # inbox
    assert len(await payments.replies("c2", 1)) == 1
    await payments.send(command, "c2.authorize.again")  # a new message: answered again
    replies = await payments.replies("c2", 2)
    assert [(r[0], r[1], r[2]["idempotency_key"]) for r in replies] == [
        ("PaymentCaptured", "c2.authorize.late", "c2:authorize"),
        ("PaymentCaptured", "c2.authorize.again.r", "c2:authorize")]
    stream = await payments.stream("c2")
    assert event_types(stream) == ["AuthorizationRequested", "Authorized", "Captured"]
    assert stream.payment.net_minor == 2500


async def test_a_declined_card_asked_with_capture_charges_nothing(payments: Payments) -> None:
    await payments.send(authorize("c3", "tok_decline", capture=True), "c3.authorize")
    [(kind, _, body)] = await payments.replies("c3", 1)
    assert (kind, body["reason"]) == ("PaymentDeclined", "card-declined")
    stream = await payments.stream("c3")
    assert event_types(stream) == ["AuthorizationRequested", "Declined"]
    assert stream.payment.net_minor == 0


async def test_the_timeout_token_asked_with_capture_is_captured_late(payments: Payments) -> None:
    await payments.send(authorize("c4", "tok_timeout", capture=True), "c4.authorize")
    [(kind, msg_id, body)] = await payments.replies("c4", 1)
    assert (kind, msg_id, body["idempotency_key"], body["amount_minor"]) == (
        "PaymentCaptured", "c4.authorize.late", "c4:authorize", 2500)
    stream = await payments.stream("c4")
    assert event_types(stream) == ["AuthorizationRequested", "Authorized", "Captured"]
    assert stream.payment.net_minor == 2500


async def test_a_void_before_a_late_approval_asked_with_capture_leaves_no_charge(
        payments: Payments) -> None:
    await payments.send(authorize("c5", "tok_timeout", capture=True), "c5.authorize")
    await payments.send(VoidPayment(order_id="c5", idempotency_key="c5:void"), "c5.void.1")
    replies = await payments.replies("c5", 3)
    assert [(r[0], r[1], r[2].get("outcome")) for r in replies] == [
        ("PaymentVoided", "c5.void.1.r", "nothing"),
        ("PaymentAuthorized", "c5.authorize.late", None),
        ("PaymentVoided", "c5.authorize.late.voided", "voided")]
    stream = await payments.stream("c5")
    assert event_types(stream) == ["AuthorizationRequested", "VoidRequested", "Authorized",
                                   "Voided"]
    assert stream.payment.net_minor == 0 and stream.payment.captures == 0


async def test_a_void_after_a_capture_on_authorization_refunds_it(payments: Payments) -> None:
    await payments.send(authorize("c6", "tok_visa", capture=True), "c6.authorize")
    assert len(await payments.replies("c6", 1)) == 1
    await payments.send(VoidPayment(order_id="c6", idempotency_key="c6:void"), "c6.void")
    replies = await payments.replies("c6", 2)
    assert [(r[0], r[2].get("outcome")) for r in replies] == [("PaymentCaptured", None),
                                                              ("PaymentVoided", "refunded")]
    stream = await payments.stream("c6")
    assert event_types(stream) == ["AuthorizationRequested", "Authorized", "Captured", "Refunded"]
    assert stream.payment.net_minor == 0


async def test_a_capture_request_left_waiting_by_a_crash_is_captured_after_the_restart(
        database: Database, running: Run) -> None:
    await record(database, "c7", AuthorizationRequested("u1", 900, "EUR", "timeout",
                                                        "c7:authorize", capture=True))
    async with running() as payments:
        [(kind, msg_id, body)] = await payments.replies("c7", 1)
        assert (kind, msg_id, body["amount_minor"]) == ("PaymentCaptured", "c7.authorize.late",
                                                        900)
        stream = await payments.stream("c7")
        assert event_types(stream) == ["AuthorizationRequested", "Authorized", "Captured"]
