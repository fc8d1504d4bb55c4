"""The fake card processor: answers by token kind, latency, timeouts, random declines."""

from __future__ import annotations

import random

import pytest

from payments.adapters.fake_processor import FakeCardProcessor
from payments.domain.cards import card_token_kind
from payments.domain.payment import Decision
from payments.service.ports import AuthorizationRequest

pytestmark = pytest.mark.unit


def request(token: str, key: str = "o1:authorize") -> AuthorizationRequest:
    return AuthorizationRequest("o1", key, 1500, "EUR", card_token_kind(token))


class Sleeps:
    def __init__(self) -> None:
        self.slept: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.mark.parametrize(("token", "decision"), [
    ("tok_visa", Decision.approve()),
    ("tok_decline", Decision.decline("card-declined")),
    ("tok_amex", Decision.decline("invalid-token")),
    ("", Decision.decline("invalid-token")),
])
async def test_answers_at_once_by_token(token: str, decision: Decision) -> None:
    sleeps = Sleeps()
    assert await FakeCardProcessor(sleep=sleeps).authorize(request(token)) == decision
    assert sleeps.slept == []


async def test_the_timeout_token_answers_only_later_and_succeeds() -> None:
    sleeps = Sleeps()
    processor = FakeCardProcessor(timeout_delay=7, sleep=sleeps)
    assert await processor.authorize(request("tok_timeout")) == Decision.approve()
    assert sleeps.slept == [7]


async def test_latency_delays_every_answer() -> None:
    sleeps = Sleeps()
    processor = FakeCardProcessor(latency_ms=250, timeout_delay=2, sleep=sleeps)
    assert await processor.authorize(request("tok_visa", "k1")) == Decision.approve()
    assert await processor.authorize(request("tok_timeout", "k2")) == Decision.approve()
    assert sleeps.slept == [0.25, 2.25]


async def test_the_decline_rate_declines_good_cards_at_random_but_idempotently() -> None:
    processor = FakeCardProcessor(decline_rate=0.5, rng=random.Random(7))
    answers = [await processor.authorize(request("tok_visa", f"k{i}")) for i in range(400)]
    declined = sum(not a.approved for a in answers)
    assert 150 < declined < 250
    again = [await processor.authorize(request("tok_visa", f"k{i}")) for i in range(400)]
    assert again == answers
    assert processor.asked["k0"] == 2  # every call counts, remembered or not


def test_a_decline_rate_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        FakeCardProcessor(decline_rate=1.5)
