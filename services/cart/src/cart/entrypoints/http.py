"""The cart's HTTP API under ``/v1`` (the gateway serves ``/api/v1/cart`` as ``/v1/cart``): the
caller's own cart, and the internal read of any user's cart for orders at checkout."""

from __future__ import annotations

from typing import Annotated

from cart.domain.errors import (
    CartFull,
    DuplicateSku,
    InvalidQuantity,
    InvalidSku,
    ItemNotFound,
    MixedCurrencies,
    PricingUnavailable,
    UnknownSku,
)
from cart.entrypoints.schemas import CartIn, CartOut, InternalCartOut, QuantityIn
from cart.service import carts as use
from cart.service.context import CartContext
from chassis import clock
from chassis.web import USER, Header, Path, Principal, Priority, Router, services

__all__ = ["router"]

router = Router(tags=["cart"])

Deadline = Annotated[int | None, Header(
    "X-Souk-Deadline", ge=0, le=10**16,
    description="when the caller stops waiting, Unix milliseconds (the gateway sets it); the "
                "catalog is not asked past it")]
UserId = Annotated[str, Path(max_length=100)]
_PRICING = (PricingUnavailable, MixedCurrencies)


def _seconds(deadline: int | None) -> float | None:
    return None if deadline is None else deadline / 1000.0


@router.get("/v1/cart", auth=USER, raises=_PRICING)
async def get_cart(user: Principal, cart: CartContext, deadline: Deadline = None) -> CartOut:
    """The caller's own cart, priced (cached prices are flagged stale when the catalog is
    away)."""
    return CartOut.of(await use.view_cart(cart.uow, cart.pricer, user.id,
                                          default_currency=cart.default_currency,
                                          deadline=_seconds(deadline)))


@router.put("/v1/cart", auth=USER,
            raises=(InvalidSku, InvalidQuantity, DuplicateSku, CartFull, UnknownSku, *_PRICING))
async def replace_cart(body: CartIn, user: Principal, cart: CartContext) -> CartOut:
    """Make the cart hold exactly these lines (one call instead of clearing and adding); the
    priced cart."""
    return CartOut.of(await use.replace_cart(
        cart.uow, cart.pricer, user.id, [(x.sku, x.quantity) for x in body.items],
        clock.now(), default_currency=cart.default_currency))


@router.put("/v1/cart/items/{sku}", auth=USER,
            raises=(InvalidSku, InvalidQuantity, CartFull, UnknownSku, *_PRICING))
async def put_item(sku: str, body: QuantityIn, user: Principal, cart: CartContext) -> CartOut:
    """Set how many of `sku` the cart holds (adds the line if absent); the priced cart."""
    await use.set_item(cart.uow, cart.pricer, user.id, sku, body.quantity, clock.now())
    return CartOut.of(await use.view_cart(cart.uow, cart.pricer, user.id,
                                          default_currency=cart.default_currency))


@router.delete("/v1/cart/items/{sku}", status=204, auth=USER, raises=(InvalidSku, ItemNotFound))
async def delete_item(sku: str, user: Principal, cart: CartContext) -> None:
    """Take `sku` out of the cart."""
    await use.remove_item(cart.uow, user.id, sku, clock.now())


@router.delete("/v1/cart", status=204, auth=USER)
async def delete_cart(user: Principal, cart: CartContext) -> None:
    """Empty the cart (an empty one too)."""
    await use.clear_cart(cart.uow, user.id, clock.now())


@router.get("/v1/internal/carts/{user_id}", auth=services({"orders"}), raises=_PRICING,
            tags=["internal"], priority=Priority.INTERNAL)
async def get_user_cart(user_id: UserId, cart: CartContext,
                        deadline: Deadline = None) -> InternalCartOut:
    """A user's priced cart, for orders at checkout (a service token of orders only; not routed
    by the gateway)."""
    return InternalCartOut.of(await use.view_cart(cart.uow, cart.pricer, user_id,
                                                  default_currency=cart.default_currency,
                                                  deadline=_seconds(deadline)))
