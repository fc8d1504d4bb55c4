"""The cart's HTTP API under ``/v1`` (the gateway serves ``/api/v1/cart`` as ``/v1/cart``): the
caller's own cart, and the internal read of any user's cart for orders at checkout."""

from __future__ import annotations

import re
from typing import Annotated

from cart.domain.errors import (
    AddKeyReused,
    CartChanged,
    CartFull,
    DuplicateSku,
    InvalidQuantity,
    InvalidSku,
    ItemNotFound,
    MixedCurrencies,
    PricingUnavailable,
    UnknownSku,
)
from cart.domain.pricing import PricedCart
from cart.entrypoints.schemas import CartIn, CartOut, InternalCartOut, LineIn, QuantityIn
from cart.service import carts as use
from cart.service.context import CartContext
from chassis import clock
from chassis.web import USER, Header, Path, Principal, Priority, Router, services
from chassis.web.responses import Response, json_response

__all__ = ["router"]

router = Router(tags=["cart"])

Deadline = Annotated[int | None, Header(
    "X-Souk-Deadline", ge=0, le=10**16,
    description="when the caller stops waiting, Unix milliseconds (the gateway sets it); the "
                "catalog is not asked past it")]
UserId = Annotated[str, Path(max_length=100)]
_PRICING = (PricingUnavailable, MixedCurrencies)
# optimistic concurrency (RFC 9110 §13.1.1): a change sent with the ETag of the cart it was made
# for is refused (412) when the cart has changed since; without If-Match the last change wins
_TAG = re.compile(r'(W/)?"([\x21\x23-\x7e]*)"')  # an entity tag (RFC 9110 §8.8.3)
IfMatch = Annotated[str | None, Header(
    "If-Match", max_length=200,
    pattern=rf"^[ \t]*(\*|{_TAG.pattern}([ \t]*,[ \t]*{_TAG.pattern})*)[ \t]*$",
    description="the `ETag` of the cart this change was made for (several, comma-separated: "
                "any of them); the change is refused with 412 if the cart is not at it any more. "
                "`*` or none: whatever it holds")]
AddKey = Annotated[str | None, Header(
    "Idempotency-Key", pattern=r"^[\x21-\x7e]{1,200}$",
    description="one key per add (a form shown once): an add already made with it is not made "
                "again, and the answer is the cart as it is (a double click, a retry); the key "
                "sent with another add (another SKU or quantity) is refused, 422")]
_ETAG = {"ETag": "the cart's version after this answer, for `If-Match`"}


def _versions(if_match: str | None) -> use.Versions:
    """The cart versions an ``If-Match`` names (None: any). A weak tag never matches (If-Match
    compares strongly), nor one that is not a version of ours."""
    if if_match is None or if_match.strip() == "*":
        return None
    return frozenset(int(tag) for weak, tag in _TAG.findall(if_match)
                     if not weak and tag.isdigit() and len(tag) < 19)


def _etag(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def _seconds(deadline: int | None) -> float | None:
    return None if deadline is None else deadline / 1000.0


def _answer(priced: PricedCart) -> Response:
    return json_response(CartOut.of(priced), headers=_etag(priced.version))


@router.get("/v1/cart", auth=USER, raises=_PRICING, responses={200: (CartOut, "the cart")},
            headers=_ETAG)
async def get_cart(user: Principal, cart: CartContext, deadline: Deadline = None) -> Response:
    """The caller's own cart, priced (cached prices are flagged stale when the catalog is
    away); its `ETag` names its version, for a change's `If-Match`."""
    return _answer(await use.view_cart(cart.uow, cart.pricer, user.id,
                                       default_currency=cart.default_currency,
                                       deadline=_seconds(deadline)))


@router.put("/v1/cart", auth=USER, raises=(InvalidSku, InvalidQuantity, DuplicateSku, CartFull,
                                           UnknownSku, CartChanged, *_PRICING),
            responses={200: (CartOut, "the cart as it is now")}, headers=_ETAG)
async def replace_cart(body: CartIn, user: Principal, cart: CartContext,
                       if_match: IfMatch = None) -> Response:
    """Make the cart hold exactly these lines (one call instead of clearing and adding); the
    priced cart."""
    return _answer(await use.replace_cart(
        cart.uow, cart.pricer, user.id, [(x.sku, x.quantity) for x in body.items],
        clock.now(), default_currency=cart.default_currency, versions=_versions(if_match)))


@router.post("/v1/cart/items", auth=USER,
             raises=(InvalidSku, InvalidQuantity, CartFull, UnknownSku, CartChanged, AddKeyReused,
                     *_PRICING),
             responses={200: (CartOut, "the cart as it is now")}, headers=_ETAG)
async def add_item(body: LineIn, user: Principal, cart: CartContext,
                   if_match: IfMatch = None, key: AddKey = None) -> Response:
    """Add `quantity` of `sku` to what the cart holds of it (a new line if none; a line holds
    99 at most); the priced cart. Two adds at once both count. With an `Idempotency-Key` (kept
    a day) the same add sent again is made once, so it may be retried; without one, it must
    not be."""
    await use.add_item(cart.uow, cart.pricer, user.id, body.sku, body.quantity, clock.now(),
                       versions=_versions(if_match), key=key)
    return _answer(await use.view_cart(cart.uow, cart.pricer, user.id,
                                       default_currency=cart.default_currency))


@router.put("/v1/cart/items/{sku}", auth=USER,
            raises=(InvalidSku, InvalidQuantity, CartFull, UnknownSku, CartChanged, *_PRICING),
            responses={200: (CartOut, "the cart as it is now")}, headers=_ETAG)
async def put_item(sku: str, body: QuantityIn, user: Principal, cart: CartContext,
                   if_match: IfMatch = None) -> Response:
    """Set how many of `sku` the cart holds (adds the line if absent); the priced cart."""
    await use.set_item(cart.uow, cart.pricer, user.id, sku, body.quantity, clock.now(),
                       versions=_versions(if_match))
    return _answer(await use.view_cart(cart.uow, cart.pricer, user.id,
                                       default_currency=cart.default_currency))


@router.delete("/v1/cart/items/{sku}", status=204, auth=USER,
               raises=(InvalidSku, ItemNotFound, CartChanged),
               responses={204: (None, "taken out")}, headers=_ETAG)
async def delete_item(sku: str, user: Principal, cart: CartContext,
                      if_match: IfMatch = None) -> Response:
    """Take `sku` out of the cart."""
    version = await use.remove_item(cart.uow, user.id, sku, clock.now(),
                                    versions=_versions(if_match))
    return Response(status=204, headers=_etag(version))


@router.delete("/v1/cart", status=204, auth=USER, raises=(CartChanged,),
               responses={204: (None, "emptied")}, headers=_ETAG)
async def delete_cart(user: Principal, cart: CartContext, if_match: IfMatch = None) -> Response:
    """Empty the cart (an empty one too)."""
    version = await use.clear_cart(cart.uow, user.id, clock.now(), versions=_versions(if_match))
    return Response(status=204, headers=_etag(version))


@router.get("/v1/internal/carts/{user_id}", auth=services({"orders"}), raises=_PRICING,
            tags=["internal"], priority=Priority.INTERNAL)
async def get_user_cart(user_id: UserId, cart: CartContext,
                        deadline: Deadline = None) -> InternalCartOut:
    """A user's priced cart, for orders at checkout (a service token of orders only; not routed
    by the gateway)."""
    return InternalCartOut.of(await use.view_cart(cart.uow, cart.pricer, user_id,
                                                  default_currency=cart.default_currency,
                                                  deadline=_seconds(deadline)))
