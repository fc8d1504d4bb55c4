"""The orders API's bodies and their JSON shapes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from orders.domain.order import Order

__all__ = ["PlaceOrderIn", "order_json"]


class PlaceOrderIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    card_token: str = Field(pattern=r"^tok_[a-z0-9_]{1,40}$", description=(
        "a card token from the payment form; test tokens: tok_visa (succeeds), tok_decline "
        "(declined), tok_timeout (the processor answers too late)"))


def order_json(order: Order) -> dict[str, Any]:
    return {"id": order.id, "status": str(order.status), "total_minor": order.total_minor,
            "currency": order.currency, "reason": order.reason or None,
            "lines": [{"sku": x.sku, "quantity": x.quantity, "unit_price_minor": x.unit_price_minor,
                       "name": x.name, "line_total_minor": x.total_minor} for x in order.lines],
            "user_id": order.user_id, "created_at": order.created_at,
            "updated_at": order.updated_at}
