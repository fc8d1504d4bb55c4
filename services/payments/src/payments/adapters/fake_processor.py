"""A fake card processor with configurable latency and failures, deciding by the token's kind:
``visa`` approves, ``decline`` is declined (``card-declined``), ``timeout`` approves only after
``timeout_delay`` seconds, anything else is declined (``invalid-token``). ``decline_rate`` declines
that share of otherwise good cards at random. Answers are remembered by idempotency key; ``asked``
counts the calls per key, as a real processor's bill would (what tests check)."""

from __future__ import annotations

import asyncio
import random
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable

from payments.domain.cards import DECLINE, TIMEOUT, VISA
from payments.domain.payment import Decision
from payments.service.ports import AuthorizationRequest

__all__ = ["FakeCardProcessor"]


class FakeCardProcessor:
    def __init__(self, *, timeout_delay: float = 10.0, decline_rate: float = 0.0,
                 latency_ms: int = 0, rng: random.Random | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 remember: int = 100_000) -> None:
        self._timeout_delay = timeout_delay
        self.configure(decline_rate=decline_rate, latency_ms=latency_ms)
        self._rng = rng or random.Random()  # noqa: S311 - a fake's dice, not security
        self._sleep = sleep
        self._remember = remember
        self._answers: OrderedDict[str, Decision] = OrderedDict()
        self.asked: Counter[str] = Counter()

    def configure(self, *, decline_rate: float, latency_ms: int) -> None:
        """Change the decline rate and the latency from the next call on (live settings)."""
        if not 0.0 <= decline_rate <= 1.0:
            raise ValueError("decline_rate must be between 0 and 1")
        self._decline_rate = decline_rate
        self._latency = latency_ms / 1000

    async def authorize(self, request: AuthorizationRequest) -> Decision:
        delay = self._latency
        if request.card_token_kind == TIMEOUT:
            delay += self._timeout_delay
        if delay > 0:
            await self._sleep(delay)
        return self._decide(request)

    def _decide(self, request: AuthorizationRequest) -> Decision:
        self.asked[request.idempotency_key] += 1
        known = self._answers.get(request.idempotency_key)
        if known is not None:
            return known
        match request.card_token_kind:
            case kind if kind in (VISA, TIMEOUT):
                declined = self._decline_rate > 0 and self._rng.random() < self._decline_rate
                answer = Decision.decline("card-declined") if declined else Decision.approve()
            case kind if kind == DECLINE:
                answer = Decision.decline("card-declined")
            case _:
                answer = Decision.decline("invalid-token")
        self._answers[request.idempotency_key] = answer
        if len(self._answers) > self._remember:
            self._answers.popitem(last=False)
        return answer
