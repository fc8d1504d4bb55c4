"""Additive changes to the orders contracts: old and new senders and receivers understand each
other."""

from __future__ import annotations

import copy

import msgspec
import pytest

from contracts import PricedLine, decode, encode
from contracts.compat import breaking_changes, current_schemas
from contracts.orders import OrderConfirmed

pytestmark = pytest.mark.unit

OLD_CONFIRMED = (b'{"order_id":"o1","user_id":"u1","lines":[{"sku":"A","quantity":1,'
                 b'"unit_price_minor":100}],"total_minor":100,"currency":"EUR",'
                 b'"confirmed_at":1.5}')


def _confirmed(cart_version: int | None) -> OrderConfirmed:
    return OrderConfirmed(order_id="o1", user_id="u1",
                          lines=(PricedLine(sku="A", quantity=1, unit_price_minor=100),),
                          total_minor=100, currency="EUR", confirmed_at=1.5,
                          cart_version=cart_version)


def test_a_confirmation_from_an_older_sender_names_no_cart_version() -> None:
    event = decode(OLD_CONFIRMED, OrderConfirmed)
    assert event.cart_version is None and event.lines[0].sku == "A"


def test_the_cart_version_travels_and_comes_back() -> None:
    event = _confirmed(7)
    assert msgspec.json.decode(encode(event))["cart_version"] == 7
    assert decode(encode(event), OrderConfirmed) == event


def test_a_negative_cart_version_is_refused() -> None:
    with pytest.raises(msgspec.ValidationError):
        decode(encode(_confirmed(-1)), OrderConfirmed)


class OlderOrderConfirmed(msgspec.Struct, frozen=True, kw_only=True):
    """OrderConfirmed as a receiver that predates ``cart_version`` decodes it."""

    order_id: str
    user_id: str
    lines: tuple[PricedLine, ...]
    total_minor: int
    currency: str
    confirmed_at: float


def test_an_older_receiver_ignores_the_cart_version() -> None:
    old = msgspec.json.decode(encode(_confirmed(7)), type=OlderOrderConfirmed)
    assert (old.order_id, old.lines[0].quantity) == ("o1", 1)


def test_adding_the_cart_version_breaks_no_peer_on_the_schema_without_it() -> None:
    new = current_schemas()
    old = copy.deepcopy(new)
    struct = old["orders.OrderConfirmed.v1"]["$defs"]["OrderConfirmed"]
    del struct["properties"]["cart_version"]
    assert breaking_changes(old, new) == []
