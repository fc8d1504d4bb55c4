"""The events of a payment's stream (stream id = order id). Plain data, appended, never changed.

``to_record`` / ``from_record`` give each event its stored name and a JSON-ready dict; the names
are the class names and must never change once written (an old stream is read forever).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

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
    "from_record",
    "to_record",
]


@dataclass(frozen=True, slots=True)
class AuthorizationRequested:
    """The processor was asked and will answer later. Only the token's kind is kept, never the
    token itself."""

    user_id: str
    amount_minor: int
    currency: str
    card_token_kind: str
    idempotency_key: str


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


def to_record(event: PaymentEvent) -> tuple[str, dict[str, Any]]:
    """(stored type name, data) of ``event``."""
    return type(event).__name__, asdict(event)


def from_record(type_name: str, data: dict[str, Any]) -> PaymentEvent:
    """The event stored as ``type_name`` with ``data``; fields this code does not know are
    ignored, so a newer writer's additions do not break an older reader."""
    cls = _TYPES.get(type_name)
    if cls is None:
        raise UnknownEventType(type_name)
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in known})
