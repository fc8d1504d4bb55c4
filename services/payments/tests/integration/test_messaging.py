"""Payments as the saga sees it: commands published to a real nats-server, replies read back
from the JetStream stream, the ledger checked in the database."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import nats
import pytest
from nats.js import JetStreamContext

from chassis.db import migrate, open_database
from chassis.testing import nats_server, serve_app
from contracts import Message
from contracts.payments import AuthorizePayment, CapturePayment, VoidPayment
from payments.adapters.sql import SqlLedger
from payments.app import MIGRATIONS, create_app
from payments.domain.events import AuthorizationRequested
from payments.service.ports import Stream

from .conftest import payments_settings

pytestmark = pytest.mark.integration

TIMEOUT_DELAY = 0.5
REPLY_TYPES = ("payments.PaymentAuthorized.v1", "payments.PaymentDeclined.v1",
               "payments.PaymentCaptured.v1", "payments.PaymentVoided.v1")


@dataclass
class Payments:
    js: JetStreamContext
    database_url: str
    base_url: str

    async def send(self, message: Message, msg_id: str, *, nats_msg_id: str | None = None) -> None:
        await self.js.publish(f"souk.{message.TYPE}", message.model_dump_json().encode(),
                              headers={"Nats-Msg-Id": nats_msg_id or msg_id,
                                       "Souk-Msg-Id": msg_id, "Souk-Type": message.TYPE,
                                       "Souk-Correlation-Id": getattr(message, "order_id", "")})

    async def replies(self, order_id: str, count: int,
                      timeout: float = 10.0) -> list[tuple[str, str, dict[str, Any]]]:
        """(Souk-Type, Souk-Msg-Id, body) of the first ``count`` replies about ``order_id``,
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
                body = json.loads(msg.data)
                if headers.get("Souk-Type") in REPLY_TYPES and body.get("order_id") == order_id:
                    found.append((headers["Souk-Type"].split(".")[1], headers["Souk-Msg-Id"],
                                  body))
        finally:
            await sub.unsubscribe()

    async def stream(self, order_id: str) -> Stream:
        db = open_database(self.database_url)
        await db.connect()
        try:
            async with db.transaction(readonly=True) as tx:
                return await SqlLedger(tx, db.dialect).load(order_id)
        finally:
            await db.close()


@contextlib.asynccontextmanager
async def running_payments(database_url: str) -> AsyncIterator[Payments]:
    with nats_server() as nats_url:
        app = create_app(payments_settings(database_url, nats_url=nats_url,
                                           timeout_delay=TIMEOUT_DELAY, pending_sweep_interval=1))
        async with serve_app(app) as base_url:
            await app.state.runtime.messaging.wait_started(10)
            nc = await nats.connect(nats_url)
            try:
                yield Payments(nc.jetstream(), database_url, base_url)
            finally:
                await nc.close()


@pytest.fixture
async def payments(database_url: str) -> AsyncIterator[Payments]:
    async with running_payments(database_url) as running:
        yield running


def authorize(order_id: str, token: str, amount: int = 2500) -> AuthorizePayment:
    return AuthorizePayment(order_id=order_id, idempotency_key=f"{order_id}:authorize",
                            user_id="u1", amount_minor=amount, currency="EUR", card_token=token)


def event_types(stream: Stream) -> list[str]:
    return [type(e.event).__name__ for e in stream.events]


async def test_a_good_card_is_authorized_and_captured_once(payments: Payments) -> None:
    await payments.send(authorize("o1", "tok_visa"), "o1.authorize")
    [(kind, msg_id, body)] = await payments.replies("o1", 1)
    assert (kind, msg_id) == ("PaymentAuthorized", "o1.authorize.r")
    assert body["idempotency_key"] == "o1:authorize" and body["amount_minor"] == 2500
    capture = CapturePayment(order_id="o1", idempotency_key="o1:capture", amount_minor=2500)
    await payments.send(capture, "o1.capture")
    await payments.send(capture, "o1.capture.2")  # re-sent by the saga: answered, not charged
    replies = await payments.replies("o1", 3)
    assert [r[0] for r in replies] == ["PaymentAuthorized", "PaymentCaptured", "PaymentCaptured"]
    stream = await payments.stream("o1")
    assert event_types(stream) == ["Authorized", "Captured"]
    assert stream.payment.net_minor == 2500
    async with aiohttp.ClientSession(payments.base_url) as http, http.get("/metrics") as resp:
        metrics = await resp.text()
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
        ("PaymentVoided", "o4.void.late", "voided")]
    stream = await payments.stream("o4")
    assert event_types(stream) == ["AuthorizationRequested", "VoidRequested", "Authorized",
                                   "Voided"]
    assert stream.payment.net_minor == 0 and stream.payment.status == "voided"


async def test_a_redelivered_command_appends_one_event(payments: Payments) -> None:
    command = authorize("o5", "tok_visa")
    await payments.send(command, "o5.authorize")
    # the same message again, past JetStream's dedupe (another Nats-Msg-Id): the inbox drops it
    await payments.send(command, "o5.authorize", nats_msg_id="o5.authorize.replayed")
    await payments.send(command, "o5.authorize")  # and JetStream drops this one
    await payments.replies("o5", 1)
    await asyncio.sleep(0.5)
    assert len(await payments.replies("o5", 2, timeout=0.5)) == 1
    assert event_types(await payments.stream("o5")) == ["Authorized"]


async def test_a_payment_left_waiting_by_a_crash_is_authorized_after_the_restart(
        database_url: str) -> None:
    await migrate(database_url, MIGRATIONS)
    db = open_database(database_url)
    await db.connect()
    try:
        async with db.transaction() as tx:
            await SqlLedger(tx, db.dialect).append(Stream("o6"), [AuthorizationRequested(
                "u1", 900, "EUR", "timeout", "o6:authorize")])
    finally:
        await db.close()
    async with running_payments(database_url) as payments:
        [(kind, msg_id, body)] = await payments.replies("o6", 1)
        assert (kind, msg_id, body["amount_minor"]) == ("PaymentAuthorized", "o6.authorize.late",
                                                        900)
