"""The orders API's bodies, as msgspec Structs (their JSON Schemas are the OpenAPI document's)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from orders.domain.order import Order
from orders.service.ports import JournalEntry

__all__ = ["JournalEntryOut", "OrderDetailOut", "OrderOut", "PlaceOrderIn", "SagaStatusOut",
           "SagaStatusesIn", "SagaStatusesOut"]

Status = Literal["PENDING", "STOCK_RESERVED", "PAYMENT_AUTHORIZED", "CONFIRMED", "CANCELLING",
                 "CANCELLED"]


class PlaceOrderIn(msgspec.Struct, frozen=True):
    card_token: Annotated[str, Meta(pattern=r"^tok_[a-z0-9_]{1,40}$", description=(
        "a card token from the payment form; test tokens: tok_visa (succeeds), tok_decline "
        "(declined), tok_timeout (the processor answers too late)"))]


class OrderLineOut(msgspec.Struct, frozen=True):
    sku: str
    quantity: int
    unit_price_minor: int
    name: str
    line_total_minor: int


class OrderOut(msgspec.Struct, frozen=True):
    id: str
    status: Status
    total_minor: Annotated[int, Meta(description="in minor units (cents)")]
    currency: str
    reason: Annotated[str | None, Meta(description="why it was cancelled")]
    lines: list[OrderLineOut]
    user_id: str
    created_at: Annotated[float, Meta(description="Unix seconds")]
    updated_at: Annotated[float, Meta(description="Unix seconds")]

    @classmethod
    def of(cls, order: Order) -> OrderOut:
        return cls(**_fields(order))


class JournalEntryOut(msgspec.Struct, frozen=True):
    step: str
    note: str
    at: float

    @classmethod
    def of(cls, entry: JournalEntry) -> JournalEntryOut:
        return cls(entry.step, entry.note, entry.at)


class OrderDetailOut(OrderOut, frozen=True):
    """An order with its saga's step journal (operators)."""

    journal: list[JournalEntryOut] = msgspec.field(default_factory=list)

    @classmethod
    def of_order(cls, order: Order, journal: list[JournalEntry]) -> OrderDetailOut:
        return cls(**_fields(order), journal=[JournalEntryOut.of(e) for e in journal])


def _fields(order: Order) -> dict[str, Any]:
    return {"id": order.id, "status": order.status.value, "total_minor": order.total_minor,
            "currency": order.currency, "reason": order.reason or None,
            "lines": [OrderLineOut(x.sku, x.quantity, x.unit_price_minor, x.name, x.total_minor)
                      for x in order.lines],
            "user_id": order.user_id, "created_at": order.created_at,
            "updated_at": order.updated_at}


MAX_SAGA_LOOKUP = 500


class SagaStatusesIn(msgspec.Struct, frozen=True):
    order_ids: Annotated[list[Annotated[str, Meta(min_length=1, max_length=64)]], Meta(
        min_length=1, max_length=MAX_SAGA_LOOKUP, description="orders to look up")]


class SagaStatusOut(msgspec.Struct, frozen=True):
    order_id: str
    status: Status


class SagaStatusesOut(msgspec.Struct, frozen=True):
    items: Annotated[list[SagaStatusOut], Meta(description="the known orders among those asked "
                                                           "(an unknown id is left out)")]
