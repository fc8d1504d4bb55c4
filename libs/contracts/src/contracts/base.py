"""What every message shares: an explicit, versioned wire name and tolerance of unknown fields.

Messages are msgspec Structs: decoding and encoding one costs about a microsecond, a few times
less than the pydantic models they replace (docs/decisions.md), and their JSON Schemas come with
them. Constraints (``Meta``) are checked when a message is decoded, i.e. by every consumer.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, TypeVar

import msgspec
from msgspec import Meta

__all__ = ["SKU", "Command", "Event", "Line", "Message", "Money", "OrderCommand", "OrderReply",
           "PricedLine", "Quantity", "decode", "encode", "registry", "type_name"]

SKU = Annotated[str, Meta(min_length=1, max_length=32, pattern=r"^[A-Z0-9][A-Z0-9-]*$")]
Quantity = Annotated[int, Meta(ge=1, le=99)]
Money = Annotated[int, Meta(ge=0, description="amount in minor units (cents)")]

_REGISTRY: dict[str, type[Message]] = {}
M = TypeVar("M", bound="Message")
_ENCODER = msgspec.json.Encoder()
_DECODERS: dict[type[Any], msgspec.json.Decoder[Any]] = {}


class Message(msgspec.Struct, frozen=True, kw_only=True):
    """A command, reply or event. ``TYPE`` is the wire name (``inventory.ReserveStock.v1``);
    subclasses set it explicitly, never derived from the class name. Unknown fields are ignored,
    so a producer may add fields without breaking older consumers."""

    TYPE: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("TYPE", "")
        if name:
            if name in _REGISTRY and _REGISTRY[name] is not cls:
                raise TypeError(f"two contracts claim the wire name {name!r}")
            _REGISTRY[name] = cls


class Command(Message, frozen=True, kw_only=True):
    """Imperative: ``ReserveStock``. Sent to one context, which replies with an event."""


class Event(Message, frozen=True, kw_only=True):
    """Past tense: ``StockReserved``. Anyone may listen."""


class OrderCommand(Command, frozen=True, kw_only=True):
    """A command about one order (a step of the checkout saga, mostly). The receiver does it at
    most once per ``idempotency_key`` and answers with an :class:`OrderReply` carrying that key."""

    order_id: str
    idempotency_key: str


class OrderReply(Event, frozen=True, kw_only=True):
    """The answer to an :class:`OrderCommand`: the order and the key it answers."""

    order_id: str
    idempotency_key: str


class Line(msgspec.Struct, frozen=True, kw_only=True):
    """One SKU and how many."""

    sku: SKU
    quantity: Quantity


class PricedLine(Line, frozen=True, kw_only=True):
    """A line with the unit price it was sold at."""

    unit_price_minor: Money
    name: str = ""


def encode(message: Message) -> bytes:
    """A message's JSON body."""
    return _ENCODER.encode(message)


def decode(data: bytes, model: type[M]) -> M:
    """Parse and validate ``data`` as ``model``; ``msgspec.ValidationError`` (a
    ``msgspec.DecodeError``) when it is not one."""
    decoder = _DECODERS.get(model)
    if decoder is None:
        decoder = _DECODERS[model] = msgspec.json.Decoder(model)
    result: M = decoder.decode(data)
    return result


def registry() -> dict[str, type[Message]]:
    """Every contract by wire name (every module of the package imported: a new context's
    module registers its contracts without being listed anywhere)."""
    import importlib
    import pkgutil

    import contracts

    for module in pkgutil.iter_modules(contracts.__path__):
        importlib.import_module(f"contracts.{module.name}")
    return dict(_REGISTRY)


def type_name(message: type[Message] | Message) -> str:
    """The wire name of a contract class or instance."""
    name = message.TYPE
    if not name:
        raise TypeError(f"{message!r} has no wire name (TYPE)")
    return name
