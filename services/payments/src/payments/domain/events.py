"""The events of a payment's stream (stream id = order id). Plain data, appended, never changed.

Each event is stored under its name (``event_name``); the names are the class names and must never
change once written (an old stream is read forever). ``event_type`` gives the class back.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AuthorizationRequested",
    "Authorized",
    "Captured",
    "Declined",
    "PaymentEvent",
    "Refunded",
    "UnknownEventType",
    "VoidRequested",
    "Voided",
    "event_name",
    "event_type",
]


@dataclass(frozen=True, slots=True)
class AuthorizationRequested:
    """The processor was asked and will answer later. Only the token's kind is kept, never the
    token itself. ``capture``: an approval is captured as it lands."""

    user_id: str
    amount_minor: int
    currency: str
    card_token_kind: str
    idempotency_key: str
    # added later: events stored before it have no such field and read back as False, the
    # meaning they were written with
    capture: bool = False


@dataclass(frozen=True, slots=True)
class Authorized:
    amount_minor: int
    currency: str
    # set when the authorization was decided inline, from the command (a late one takes them
    # from AuthorizationRequested)
    user_id: str = ""
    idempotency_key: str = ""


@dataclass(frozen=True, slots=True)
class Declined:
    reason: str
    user_id: str = ""
    amount_minor: int = 0
    currency: str = ""
    idempotency_key: str = ""


@dataclass(frozen=True, slots=True)
class Captured:
    amount_minor: int


@dataclass(frozen=True, slots=True)
class Voided:
    pass


@dataclass(frozen=True, slots=True)
class Refunded:
    amount_minor: int


@dataclass(frozen=True, slots=True)
class VoidRequested:
    """A void arrived before any authorization: the authorization is voided when it lands."""

    idempotency_key: str = ""  # of the VoidPayment, so the late PaymentVoided can carry it


PaymentEvent = (AuthorizationRequested | Authorized | Declined | Captured | Voided | Refunded
                | VoidRequested)

_TYPES: dict[str, type[PaymentEvent]] = {
    cls.__name__: cls for cls in (AuthorizationRequested, Authorized, Declined, Captured, Voided,
                                  Refunded, VoidRequested)}


class UnknownEventType(ValueError):
    """A stored event whose name this code does not know (a newer writer, or corruption)."""


def event_name(event: PaymentEvent) -> str:
    """The name ``event`` is stored under."""
    return type(event).__name__


def event_type(name: str) -> type[PaymentEvent]:
    """The class of the events stored as ``name``."""
    cls = _TYPES.get(name)
    if cls is None:
        raise UnknownEventType(name)
    return cls
