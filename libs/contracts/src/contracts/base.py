"""What every message shares: an explicit, versioned wire name and tolerance of unknown fields."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["SKU", "Command", "Event", "Line", "Message", "Money", "PricedLine", "Quantity",
           "registry", "type_name"]

SKU = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Z0-9][A-Z0-9-]*$")]
Quantity = Annotated[int, Field(ge=1, le=99)]
Money = Annotated[int, Field(ge=0, description="amount in minor units (cents)")]

_REGISTRY: dict[str, type[Message]] = {}


class Message(BaseModel):
    """A command, reply or event. ``TYPE`` is the wire name (``inventory.ReserveStock.v1``);
    subclasses set it explicitly, never derived from the class name. Unknown fields are ignored,
    so a producer may add fields without breaking older consumers."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    TYPE: ClassVar[str] = ""

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: object) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if cls.TYPE:
            if cls.TYPE in _REGISTRY and _REGISTRY[cls.TYPE] is not cls:
                raise TypeError(f"two contracts claim the wire name {cls.TYPE!r}")
            _REGISTRY[cls.TYPE] = cls


class Command(Message):
    """Imperative: ``ReserveStock``. Sent to one context, which replies with an event."""


class Event(Message):
    """Past tense: ``StockReserved``. Anyone may listen."""


class Line(BaseModel):
    """One SKU and how many."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    sku: SKU
    quantity: Quantity


class PricedLine(Line):
    """A line with the unit price it was sold at."""

    unit_price_minor: Money
    name: str = ""


def registry() -> dict[str, type[Message]]:
    """Every contract by wire name (all contract modules imported)."""
    from contracts import inventory, orders, payments  # noqa: F401 - registers them

    return dict(_REGISTRY)


def type_name(message: type[Message] | Message) -> str:
    """The wire name of a contract class or instance."""
    name = message.TYPE
    if not name:
        raise TypeError(f"{message!r} has no wire name (TYPE)")
    return name
