"""Authorizations the processor answers later: one task per pending payment, bounded.

A task asks the processor, then lands the answer in its own transaction after re-reading the
stream, so a void that arrived meanwhile is seen and the fresh authorization voided at once.
Pending streams are also found by a slow sweep (and at start-up), so neither a crash nor a
rolled-back batch loses a payment.
"""

from __future__ import annotations

import asyncio
import contextlib

from chassis.logging import get_logger
from contracts.payments import PaymentVoided
from payments.domain import payment as rules
from payments.domain.errors import ConcurrencyConflict
from payments.domain.events import Voided
from payments.domain.payment import Decision, Status
from payments.service.commands import count_events, decision_reply, request_of
from payments.service.ports import (
    AuthorizationRequest,
    CardProcessor,
    PaymentMetrics,
    SessionFactory,
)

__all__ = ["LateAuthorizer", "late_authorization_id", "late_void_id"]

log = get_logger(__name__)

# a request can be scheduled before its own transaction committed: look again a few times
_NOT_YET_VISIBLE_RETRIES = (0.05, 0.2, 1.0)


def late_authorization_id(order_id: str) -> str:
    return f"{order_id}.authorize.late"


def late_void_id(order_id: str) -> str:
    return f"{order_id}.void.late"


class LateAuthorizer:
    def __init__(self, sessions: SessionFactory, processor: CardProcessor,
                 metrics: PaymentMetrics, *, max_in_flight: int = 1000,
                 sweep_interval: float = 5.0) -> None:
        self._sessions = sessions
        self._processor = processor
        self._metrics = metrics
        self._max_in_flight = max_in_flight
        self._sweep_interval = sweep_interval
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._sweeper: asyncio.Task[None] | None = None
        self._closed = False
        self.failures = 0  # tasks that ended in an unexpected error (the sweep retries them)

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def schedule(self, request: AuthorizationRequest) -> bool:
        """Ask the processor for ``request`` in the background, unless that is already under
        way; False when full or closed (the sweep picks the payment up later)."""
        if self._closed or request.order_id in self._tasks:
            return False
        if len(self._tasks) >= self._max_in_flight:
            return False
        task = asyncio.create_task(self._authorize(request), name=f"authorize {request.order_id}")
        self._tasks[request.order_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(request.order_id, None))
        return True

    async def resume(self) -> int:
        """Schedule every pending payment not already in flight; how many were scheduled."""
        room = self._max_in_flight - len(self._tasks)
        if room <= 0:
            return 0
        requests: list[AuthorizationRequest] = []
        async with self._sessions() as session:
            for order_id in await session.ledger.pending(room + len(self._tasks)):
                if order_id in self._tasks:
                    continue
                payment = (await session.ledger.load(order_id)).payment
                if payment.status is Status.PENDING:
                    requests.append(request_of(payment))
        return sum(self.schedule(r) for r in requests)

    async def start(self) -> None:
        await self.resume()
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="pending sweep")

    async def stop(self) -> None:
        self._closed = True
        tasks = [*self._tasks.values(), *([self._sweeper] if self._sweeper else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def wait_idle(self) -> None:
        """Until no authorization is in flight (for tests and orderly shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_interval)
            try:
                await self.resume()
            except Exception:  # the sweep must outlive a database hiccup
                self.failures += 1
                log.exception("sweep of pending authorizations failed")

    async def _authorize(self, request: AuthorizationRequest) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        decision = await self._processor.authorize(request)
        self._metrics.processor_latency(loop.time() - started)
        for delay in (0.0, *_NOT_YET_VISIBLE_RETRIES):
            if delay:
                await asyncio.sleep(delay)
            try:
                if await self.land(request.order_id, decision):
                    return
            except ConcurrencyConflict:
                continue  # another writer got there first: read again and decide again
            except Exception:  # the sweep tries this payment again later
                self.failures += 1
                log.exception("landing a late authorization failed", order_id=request.order_id)
                return

    async def land(self, order_id: str, decision: Decision) -> bool:
        """Append the processor's answer to a pending payment and publish it; True once the
        payment is settled (landed now or before), False if its request is not visible yet."""
        async with self._sessions() as session:
            stream = await session.ledger.load(order_id)
            payment = stream.payment
            if payment.status is not Status.PENDING:
                return payment.decided
            stream = await session.ledger.append(stream, rules.land_authorization(payment,
                                                                                  decision))
            count_events(self._metrics, stream, payment.version)
            landed = stream.payment
            session.publish(decision_reply(landed, landed.idempotency_key),
                            msg_id=late_authorization_id(order_id), correlation_id=order_id)
            if any(isinstance(e.event, Voided) for e in stream.events[payment.version:]):
                session.publish(PaymentVoided(order_id=order_id,
                                              idempotency_key=landed.void_idempotency_key,
                                              outcome="voided"),
                                msg_id=late_void_id(order_id), correlation_id=order_id)
            return True
