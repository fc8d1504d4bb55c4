"""The relay's retry backoff when JetStream refuses a whole window of publishes at once (a
cluster electing a new stream leader answers every publish "no stream"): one backoff step per
round of retries, never more than ``MAX_RETRY_DELAY`` (docs/decisions.md 65)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest
from prometheus_client import CollectorRegistry

from chassis.faults import FaultPoints
from chassis.messaging.envelope import Outgoing
from chassis.messaging.metrics import MessagingMetrics
from chassis.messaging.relay import MAX_RETRY_DELAY, Relay

pytestmark = pytest.mark.unit


@dataclass
class Refusal:
    """JetStream's no-responders answer to the publish sent with reply ``<inbox>.<token>``."""

    subject: str
    data: bytes = b""


def relay_with_a_window_in_flight(rows: int) -> tuple[Relay, MessagingMetrics]:
    metrics = MessagingMetrics(CollectorRegistry(), "test")
    relay = Relay(None, None, metrics, FaultPoints(None))  # type: ignore[arg-type]
    now = time.monotonic()
    for n in range(rows):
        row = Outgoing(msg_id=f"m{n}", subject="souk.test", headers={}, payload=b"x",
                       created_at=time.time())
        relay._in_flight[str(n)] = (row, now)
    return relay, metrics


async def refuse_all(relay: Relay, rows: int) -> None:
    for n in range(rows):
        await relay._on_ack(Refusal(subject=f"_INBOX.x.{n}"))


async def test_a_window_refused_at_once_backs_off_one_step_and_keeps_every_row_in_order() -> None:
    relay, metrics = relay_with_a_window_in_flight(200)

    await refuse_all(relay, 200)

    assert relay._retry_at - time.monotonic() <= 0.05  # the first step, not the cap
    assert relay.queued == 200
    assert metrics.publish_failures._value.get() == 200  # every refused row counted


async def test_rounds_of_refusals_back_off_up_to_a_second_at_most() -> None:
    relay, _ = relay_with_a_window_in_flight(0)
    waits = []
    for _ in range(10):  # ten rounds, each refused whole
        relay._retry_at = 0.0  # the round's retry came
        for n in range(50):
            relay._in_flight[str(n)] = (Outgoing(f"m{n}", "souk.test", {}, b"x", 0.0), 0.0)
        await refuse_all(relay, 50)
        waits.append(round(relay._retry_at - time.monotonic(), 2))

    assert waits[:3] == pytest.approx([0.05, 0.1, 0.2], abs=0.02)
    assert max(waits) <= MAX_RETRY_DELAY == 1.0
    assert waits[-1] == pytest.approx(1.0, abs=0.02)
