"""An order's checkout as its shopper follows it: the saga's steps (reserved → authorized →
captured → confirmed, or the compensations that undo them → cancelled), each done, failed, in
progress or still to come, and why a cancelled order was cancelled, in a shop's words.

The steps are read from the order's status and its cancellation reason only, so a page that
missed a transition (it happened between two looks) still shows every step that was taken."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

__all__ = ["FINAL", "Progress", "Step", "progress", "reason_text"]

StepState = Literal["done", "failed", "current", "todo"]
FINAL = frozenset({"CONFIRMED", "CANCELLED"})

_HEADLINES = {"PENDING": "Reserving your items", "STOCK_RESERVED": "Taking the payment",
              "PAYMENT_AUTHORIZED": "Taking the payment", "CONFIRMED": "Confirmed",
              "CANCELLING": "Being cancelled", "CANCELLED": "Cancelled"}
_STOCK_REASONS = frozenset({"out-of-stock", "insufficient-stock", "unknown-sku", "rejected",
                            "released", "expired", "inventory-timeout"})


@dataclass(frozen=True, slots=True)
class Step:
    key: str
    label: str
    state: StepState


@dataclass(frozen=True, slots=True)
class Progress:
    status: str
    headline: str
    steps: tuple[Step, ...]
    final: bool
    message: str | None  # why it was cancelled (None otherwise)

    def as_json(self) -> dict[str, object]:
        return {"status": self.status, "headline": self.headline, "final": self.final,
                "message": self.message,
                "steps": [{"key": s.key, "label": s.label, "state": s.state}
                          for s in self.steps]}


def reason_text(reason: str | None, short: Sequence[str] = ()) -> str:
    """Why an order was cancelled, for its shopper (``short``: the names of the items that
    were out of stock, when known)."""
    if reason == "payment-declined":
        return "Your card was declined. Nothing was charged; try another card."
    if reason == "payment-timeout":
        return "The payment timed out. Nothing was charged; please try again."
    if reason == "unknown-sku":
        return "An item in your order is no longer sold. Nothing was charged."
    if reason == "inventory-timeout":
        return "We could not reserve your items in time. Nothing was charged; please try again."
    if reason in _STOCK_REASONS:
        if short:
            return f"Out of stock: {', '.join(short)}. Nothing was charged."
        return "Some items were out of stock. Nothing was charged."
    return "The order was cancelled. Nothing was charged."


def _forward(done: int, status: str) -> tuple[Step, ...]:
    labels = (("reserved", "Items reserved"), ("authorized", "Payment authorized"),
              ("captured", "Payment captured"), ("confirmed", "Order confirmed"))
    steps = []
    for i, (key, label) in enumerate(labels):
        state: StepState = "done" if i < done else "current" if i == done else "todo"
        steps.append(Step(key, label, state))
    return tuple(steps)


def _compensated(status: str, reason: str | None) -> tuple[Step, ...]:
    finished = status == "CANCELLED"
    undo: StepState = "done" if finished else "current"
    end: StepState = "done" if finished else "todo"
    if reason in _STOCK_REASONS or (reason is None and finished):
        return (Step("reserved", "Items not available", "failed"),
                Step("cancelled", "Order cancelled", end))
    steps = [Step("reserved", "Items reserved", "done")]
    if reason == "payment-declined":
        steps.append(Step("authorized", "Card declined", "failed"))
    else:  # the authorization timed out (or another failure): any hold is voided first
        steps += [Step("authorized", "Payment timed out" if reason == "payment-timeout"
                       else "Payment failed", "failed"),
                  Step("voided", "Payment voided", undo)]
    steps += [Step("released", "Items released", undo if reason == "payment-declined" else end),
              Step("cancelled", "Order cancelled", end)]
    return tuple(steps)


def progress(status: str, reason: str | None = None, short: Sequence[str] = ()) -> Progress:
    """The steps of an order with ``status`` (and, once cancelling, its ``reason``)."""
    if status in ("CANCELLING", "CANCELLED"):
        steps = _compensated(status, reason)
        message = reason_text(reason, short)
    else:
        done = {"PENDING": 0, "STOCK_RESERVED": 1, "PAYMENT_AUTHORIZED": 2}.get(status, 4)
        steps, message = _forward(done, status), None
    return Progress(status, _HEADLINES.get(status, status.title()), steps, status in FINAL,
                    message)
