"""Asking the card processor: one task per pending payment, bounded, after the commit.

Every authorization is recorded (``AuthorizationRequested``) and claimed by this instance in the
transaction of the command; only once that has committed is it handed to a task here, which asks
the processor (which takes its own time) and lands the answer in its own transaction after
re-reading the stream, so a void that arrived meanwhile is seen and the fresh authorization voided
at once (never captured); otherwise an approval asked with capture is captured in that same
transaction and answered ``PaymentCaptured``. Pending streams are also found by ``resume`` (run
at start-up and then periodically by the background helper), so neither a crash nor a
rolled-back batch loses a payment; ``resume`` takes only payments no other instance holds (a
claim with a lease, renewed by each resume while its task waits), so each payment is asked for by
one instance at a time. Only when an instance stops renewing (it died, or its lease is shorter
than the processor's answer) does another take the payment over and ask again, with the same
idempotency key.

Answers that arrive together land together: each task hands its decision to one lander, which
lands all those waiting in one transaction (a group commit; one transaction per payment cost a
checkout a tenth of its CPU), each reply published in the context of the task that asked, so it
continues that payment's trace. A conflict in a group lands its payments one by one instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import uuid

from chassis import clock
from chassis.logging import get_logger
from contracts.payments import PaymentVoided
from payments.domain import payment as rules
from payments.domain.errors import ConcurrencyConflict
from payments.domain.events import Voided
from payments.domain.payment import Decision, Status
from payments.service.commands import decision_reply, record, request_of
from payments.service.ports import (
    AuthorizationRequest,
    CardProcessor,
    Lease,
    PaymentMetrics,
    PaymentsRepository,
    PaymentsUnitOfWork,
)

__all__ = ["LateAuthorizer", "late_authorization_id", "late_void_id"]

log = get_logger(__name__)

# another writer may append between our read and our write: read and decide again, a few times
_CONFLICT_RETRIES = 3


# ids of what payments publishes on its own (no command delivery to answer): named after the
# landing and its effect, so that no other producer's id can be the same (the saga's own void of
# a late reply is ``<order_id>.void.late``; JetStream would drop the second of two equal ids)
def late_authorization_id(order_id: str) -> str:
    return f"{order_id}.authorize.late"


def late_void_id(order_id: str) -> str:
    return f"{order_id}.authorize.late.voided"


class LateAuthorizer:
    def __init__(self, uow: PaymentsUnitOfWork, processor: CardProcessor,
                 metrics: PaymentMetrics, *, max_in_flight: int = 1000,
                 lease: Lease | None = None) -> None:
        """``lease``: who claims pending payments here (the instance id) and for how long;
        by default a name of its own and 60 seconds."""
        self.lease = lease or Lease(f"payments-{uuid.uuid4().hex[:12]}", 60.0)
        self._uow = uow
        self._processor = processor
        self._metrics = metrics
        self._max_in_flight = max_in_flight
        self._tasks: dict[str, asyncio.Task[None]] = {}
        # decisions waiting for the lander: order id, decision, the asking task's context, and
        # the future its task awaits
        self._due: list[tuple[str, Decision, contextvars.Context, asyncio.Future[bool]]] = []
        self._lander: asyncio.Task[None] | None = None
        self._closed = False
        self.failures = 0  # tasks that ended in an unexpected error (``resume`` retries them)

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def schedule(self, request: AuthorizationRequest) -> bool:
        """Ask the processor for ``request`` in the background, unless that is already under
        way; False when full or closed (``resume`` picks the payment up later)."""
        if self._closed or request.order_id in self._tasks:
            return False
        if len(self._tasks) >= self._max_in_flight:
            return False
        task = asyncio.create_task(self._authorize(request), name=f"authorize {request.order_id}")
        self._tasks[request.order_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(request.order_id, None))
        return True

    async def resume(self) -> int:
        """Claim and schedule the pending payments no other instance holds (and not already in
        flight here); how many were scheduled."""
        room = self._max_in_flight - len(self._tasks)
        if room <= 0 or self._closed:
            return 0
        requests: list[AuthorizationRequest] = []
        async with self._uow() as payments:
            # claims this instance's waiting tasks again too: that renews their leases
            claimed = await payments.claim_pending(self.lease, clock.time(),
                                                   room + len(self._tasks))
            for order_id in claimed:
                if order_id in self._tasks:
                    continue
                payment = (await payments.load(order_id)).payment
                if payment.status is Status.PENDING:
                    requests.append(request_of(payment))
        return sum(self.schedule(r) for r in requests)

    async def stop(self) -> None:
        """Cancel what still waits on the processor (``resume`` takes it up at the next start)."""
        self._closed = True
        tasks = list(self._tasks.values())
        if self._lander is not None:
            tasks.append(self._lander)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def wait_idle(self) -> None:
        """Until no authorization is in flight (for tests and orderly shutdown)."""
        while self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def _authorize(self, request: AuthorizationRequest) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        decision = await self._processor.authorize(request)
        self._metrics.processor_latency(loop.time() - started)
        try:
            await self._land_with_others(request.order_id, decision)
            return
        except ConcurrencyConflict:
            pass  # a payment of the group conflicted: each lands on its own
        except Exception:
            self.failures += 1
            log.exception("landing a late authorization failed", order_id=request.order_id)
            return
        for attempt in range(1, _CONFLICT_RETRIES + 1):
            try:
                await self.land(request.order_id, decision)
                return
            except ConcurrencyConflict:
                if attempt < _CONFLICT_RETRIES:
                    continue
                self.failures += 1  # ``resume`` tries this payment again later
                log.warning("a late authorization kept conflicting", order_id=request.order_id)
            except Exception:
                self.failures += 1
                log.exception("landing a late authorization failed", order_id=request.order_id)
            return

    async def land(self, order_id: str, decision: Decision) -> bool:
        """Append the processor's answer to a pending payment and publish it; True if it landed
        now, False if the payment was not pending (landed before, or never asked)."""
        async with self._uow() as payments:
            return await self._land_in(payments, order_id, decision, contextvars.copy_context())

    async def _land_with_others(self, order_id: str, decision: Decision) -> bool:
        """:meth:`land`, in one transaction with the decisions that arrive meanwhile."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._due.append((order_id, decision, contextvars.copy_context(), future))
        if self._lander is None:
            self._lander = asyncio.create_task(self._land_due(), name="land-authorizations")
        return await future

    async def _land_due(self) -> None:
        try:
            while self._due:
                group, self._due = self._due, []
                try:
                    async with self._uow() as payments:
                        payments.will_load([order_id for order_id, *_ in group])
                        landed = [await self._land_in(payments, order_id, decision, context)
                                  for order_id, decision, context, _ in group]
                except BaseException as exc:
                    for *_, future in group:
                        if not future.done():
                            future.set_exception(exc if isinstance(exc, Exception)
                                                 else asyncio.CancelledError())
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for (*_, future), was_landed in zip(group, landed, strict=True):
                    if not future.done():
                        future.set_result(was_landed)
        finally:
            self._lander = None

    async def _land_in(self, payments: PaymentsRepository, order_id: str, decision: Decision,
                       context: contextvars.Context) -> bool:
        stream = await payments.load(order_id)
        payment = stream.payment
        if payment.status is not Status.PENDING:
            return False
        stream = await record(payments, self._metrics, stream,
                              rules.land_authorization(payment, decision))
        landed = stream.payment
        # published in the asking task's context: the reply continues that payment's trace
        context.run(payments.publish, decision_reply(landed, landed.idempotency_key,
                                                     capture=landed.capture_requested),
                    msg_id=late_authorization_id(order_id), correlation_id=order_id)
        if any(isinstance(e.event, Voided) for e in stream.events[payment.version:]):
            context.run(payments.publish, PaymentVoided(
                order_id=order_id, idempotency_key=landed.void_idempotency_key,
                outcome="voided"), msg_id=late_void_id(order_id), correlation_id=order_id)
        return True
