"""The checkout saga as a pure state machine: a state and an input in, a transition out.

Steps run in this order: reserve stock, authorize payment, then CONFIRMED. By default the
authorization asks payments to capture in the same step (``capture_on_authorize``): its answer
``PaymentCaptured`` is the pivot and confirms the order. When payments answers
``PaymentAuthorized`` instead (the two-step flow, or a payments that ignores the flag), a capture
step follows and its ``PaymentCaptured`` is the pivot. A rejection, a decline or a missed
deadline before the pivot compensates in reverse order: void the payment (only when an
authorization was asked for and not declined; payments refunds what it captured), release the
stock, CANCELLED. A compensation is re-sent at every deadline until it is answered; the capture
step, being past the pivot, is re-sent until it is answered and never compensated. A reply is
matched to the step it answers by its idempotency key; anything else is stale and ignored, except
a payment authorization or capture that lands after the saga gave up on it, which gets its own
void (a refund, for a capture).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

__all__ = ["Command", "Deadlines", "Reply", "ReplyKind", "Saga", "Status", "Step", "Transition",
           "begin", "idempotency_key", "on_reply", "on_timeout", "restart_deadline"]


class Status(StrEnum):
    PENDING = "PENDING"
    STOCK_RESERVED = "STOCK_RESERVED"
    PAYMENT_AUTHORIZED = "PAYMENT_AUTHORIZED"
    CONFIRMED = "CONFIRMED"
    CANCELLING = "CANCELLING"
    CANCELLED = "CANCELLED"

    @property
    def terminal(self) -> bool:
        return self in (Status.CONFIRMED, Status.CANCELLED)


class Step(StrEnum):
    RESERVE = "reserve"
    AUTHORIZE = "authorize"
    CAPTURE = "capture"
    VOID = "void"
    RELEASE = "release"
    DONE = "done"


class ReplyKind(StrEnum):
    STOCK_RESERVED = "stock-reserved"
    STOCK_REJECTED = "stock-rejected"
    STOCK_RELEASED = "stock-released"
    PAYMENT_AUTHORIZED = "payment-authorized"
    PAYMENT_DECLINED = "payment-declined"
    PAYMENT_CAPTURED = "payment-captured"
    PAYMENT_VOIDED = "payment-voided"


# which steps each reply can answer (its idempotency key says which one it does): a capture
# answers the authorize step when it was captured on authorization, else the capture step
_ANSWERS: dict[ReplyKind, tuple[Step, ...]] = {
    ReplyKind.STOCK_RESERVED: (Step.RESERVE,), ReplyKind.STOCK_REJECTED: (Step.RESERVE,),
    ReplyKind.STOCK_RELEASED: (Step.RELEASE,), ReplyKind.PAYMENT_AUTHORIZED: (Step.AUTHORIZE,),
    ReplyKind.PAYMENT_DECLINED: (Step.AUTHORIZE,),
    ReplyKind.PAYMENT_CAPTURED: (Step.AUTHORIZE, Step.CAPTURE),
    ReplyKind.PAYMENT_VOIDED: (Step.VOID,),
}

# replies that may leave a hold or a charge behind if they land after the saga gave up
_LATE_VOIDED = {ReplyKind.PAYMENT_AUTHORIZED: "late payment authorization; voiding it",
                ReplyKind.PAYMENT_CAPTURED: "late payment capture; refunding it"}

# seconds each step may take before the saga acts (a re-send waits longer, up to 6x); they come
# from the service's settings, nowhere else
Deadlines = dict[Step, float]


def idempotency_key(order_id: str, step: Step) -> str:
    """The key a participant dedupes a step's command by: the same for every re-send of it."""
    return f"{order_id}:{step}"


@dataclass(frozen=True, slots=True)
class Saga:
    """The persisted state of one checkout."""

    order_id: str
    status: Status
    step: Step
    attempt: int = 1
    deadline_at: float | None = None
    payment_requested: bool = False
    reason: str = ""
    version: int = 0


@dataclass(frozen=True, slots=True)
class Reply:
    kind: ReplyKind
    idempotency_key: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Command:
    """A command to send: which step, which attempt (message ids differ per attempt, the
    idempotency key does not)."""

    step: Step
    attempt: int
    order_id: str
    late: bool = False  # the void of a payment reply that arrived after the saga gave up
    capture: bool = False  # authorize only: capture in the same step when authorized

    @property
    def idempotency_key(self) -> str:
        return idempotency_key(self.order_id, self.step)

    @property
    def msg_id(self) -> str:
        base = f"{self.order_id}.{self.step}"
        if self.late:
            return f"{base}.late"
        return base if self.attempt == 1 else f"{base}.{self.attempt}"


@dataclass(frozen=True, slots=True)
class Transition:
    saga: Saga
    commands: tuple[Command, ...] = ()
    note: str = ""
    confirmed: bool = False
    cancelled: bool = False
    changed: bool = True


def _deadline(now: float, step: Step, attempt: int, deadlines: Deadlines) -> float:
    return now + deadlines[step] * min(attempt, 6)


def _go(saga: Saga, status: Status, step: Step, now: float, deadlines: Deadlines, *,
        attempt: int = 1, capture: bool = False, note: str, **changes: object) -> Transition:
    new = replace(saga, status=status, step=step, attempt=attempt,
                  deadline_at=_deadline(now, step, attempt, deadlines), **changes)  # type: ignore[arg-type]
    return Transition(new, (Command(step, attempt, saga.order_id, capture=capture),), note=note)


def begin(order_id: str, now: float, deadlines: Deadlines) -> Transition:
    """A new saga: reserve the stock."""
    saga = Saga(order_id=order_id, status=Status.PENDING, step=Step.RESERVE)
    return _go(saga, Status.PENDING, Step.RESERVE, now, deadlines, note="placed; reserving stock")


def _cancel(saga: Saga, now: float, deadlines: Deadlines, reason: str, note: str,
            *, void: bool) -> Transition:
    if void:
        return _go(saga, Status.CANCELLING, Step.VOID, now, deadlines, reason=reason,
                   note=note + "; voiding the payment")
    return _go(saga, Status.CANCELLING, Step.RELEASE, now, deadlines, reason=reason,
               note=note + "; releasing the stock")


def _finish(saga: Saga, status: Status, note: str) -> Transition:
    new = replace(saga, status=status, step=Step.DONE, deadline_at=None)
    return Transition(new, (), note=note, confirmed=status is Status.CONFIRMED,
                      cancelled=status is Status.CANCELLED)


def on_reply(saga: Saga, reply: Reply, now: float, deadlines: Deadlines, *,
             capture_on_authorize: bool = True) -> Transition:
    """What the saga does with a participant's reply. ``capture_on_authorize`` (the service's
    setting): the authorization it asks for captures in the same step."""
    current = (saga.step in _ANSWERS[reply.kind]
               and reply.idempotency_key == idempotency_key(saga.order_id, saga.step))
    if not current:
        # authorized or captured after we gave up on it: a void (a refund, for a capture) makes
        # sure no hold or charge survives a cancelled order (a duplicate after the confirmation
        # is just stale)
        late = _LATE_VOIDED.get(reply.kind)
        if late and saga.status in (Status.CANCELLING, Status.CANCELLED):
            return Transition(saga, (Command(Step.VOID, 1, saga.order_id, late=True),),
                              changed=False, note=late)
        return Transition(saga, (), changed=False,
                          note=f"stale {reply.kind} ignored (saga at {saga.step})")
    kind = reply.kind
    if kind is ReplyKind.STOCK_RESERVED:
        return _go(saga, Status.STOCK_RESERVED, Step.AUTHORIZE, now, deadlines,
                   payment_requested=True, capture=capture_on_authorize,
                   note="stock reserved; authorizing and capturing payment"
                   if capture_on_authorize else "stock reserved; authorizing payment")
    if kind is ReplyKind.STOCK_REJECTED:
        reason = reply.reason or "out-of-stock"
        return _finish(replace(saga, reason=reason), Status.CANCELLED,
                       f"stock rejected ({reason}); cancelled")
    if kind is ReplyKind.PAYMENT_AUTHORIZED:
        return _go(saga, Status.PAYMENT_AUTHORIZED, Step.CAPTURE, now, deadlines,
                   note="payment authorized; capturing")
    if kind is ReplyKind.PAYMENT_DECLINED:
        return _cancel(saga, now, deadlines, "payment-declined",
                       f"payment declined ({reply.reason or 'declined'})", void=False)
    if kind is ReplyKind.PAYMENT_CAPTURED:
        if saga.step is Step.AUTHORIZE:  # captured on authorization: no capture step
            return _finish(saga, Status.CONFIRMED, "payment authorized and captured; confirmed")
        return _finish(saga, Status.CONFIRMED, "payment captured; confirmed")
    if kind is ReplyKind.PAYMENT_VOIDED:
        return _go(saga, Status.CANCELLING, Step.RELEASE, now, deadlines,
                   note=f"payment voided ({reply.reason or 'voided'}); releasing the stock")
    # STOCK_RELEASED
    return _finish(saga, Status.CANCELLED, "stock released; cancelled")


def on_timeout(saga: Saga, now: float, deadlines: Deadlines) -> Transition:
    """The current step missed its deadline."""
    if saga.status.terminal or saga.deadline_at is None or saga.deadline_at > now:
        return Transition(saga, (), changed=False, note="no deadline passed")
    step = saga.step
    if step is Step.RESERVE:
        return _cancel(saga, now, deadlines, "inventory-timeout", "stock reservation timed out",
                       void=False)
    if step is Step.AUTHORIZE:  # the void also refunds a capture on authorization
        return _cancel(saga, now, deadlines, "payment-timeout", "payment authorization timed out",
                       void=True)
    # capture (past the pivot), void and release: ask again until answered
    attempt = saga.attempt + 1
    return _go(saga, saga.status, step, now, deadlines, attempt=attempt,
               note=f"{step} not answered in time; sending it again (attempt {attempt})")


def restart_deadline(saga: Saga, now: float, deadlines: Deadlines) -> Transition:
    """The broker was unreachable from orders (or orders has just started and cannot know): the
    step's command may have waited in the outbox all along, so its deadline counts again from
    ``now`` (never earlier; nothing is sent)."""
    if saga.status.terminal or saga.deadline_at is None:
        return Transition(saga, (), changed=False, note="no deadline to restart")
    due = _deadline(now, saga.step, saga.attempt, deadlines)
    if due <= saga.deadline_at:
        return Transition(saga, (), changed=False, note="the deadline is later already")
    return Transition(replace(saga, deadline_at=due), (),
                      note=f"{saga.step}: the broker was unreachable (or orders has just "
                           "started); its deadline restarts")
