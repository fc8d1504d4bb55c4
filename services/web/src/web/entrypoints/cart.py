"""The cart and the checkout: add from a product page, change quantities, remove lines (forms,
each answered 303 to the cart), then check out with a test card.

The checkout form carries an Idempotency-Key made when it was shown, so a double submit places
one order; and ``js`` (0, set to 1 by app.js): without JavaScript the order is asked to wait
for its outcome, so the order page the browser lands on is usually final already."""

from __future__ import annotations

import re
import uuid
from typing import Annotated
from urllib.parse import quote

from chassis.web import Answer, Query, Request, Response, Router
from web.adapters.shop import Shop
from web.domain.errors import NotFound, Refused, ShopError
from web.entrypoints.failures import bad_request, failed, shopper, sign_in_first
from web.entrypoints.pages import FORM, HTML, Posted, Visit, page, posted, redirect, safe_next, visit
from web.service.context import WebContext

__all__ = ["CARDS", "CHECKOUT_REFUSALS", "LINE_FULL", "add_line", "pending_add", "router"]

router = Router(tags=["cart"], ignore_other_query=True)

CARDS = (("tok_visa", "Visa test card (paid)"),
         ("tok_decline", "Test card that is declined"),
         ("tok_timeout", "Test card whose bank answers too late"))
MAX_QUANTITY = 99
_SKU = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$")
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
# the cart's refusal of an add that would take a line past MAX_QUANTITY
LINE_FULL = "cart/invalid-quantity"
_TO_CART = (None, "done: on to the cart (or to sign in first)")
_FORMS = {303: _TO_CART, 400: HTML, 403: HTML, 503: HTML}


def _quantity(raw: str) -> int | None:
    try:
        value = int(raw.strip())
    except ValueError:
        return None
    return value if 1 <= value <= MAX_QUANTITY else None


async def _show_cart(v: Visit, status: int = 200, **notes: str | None) -> Response:
    try:
        cart = await Shop(v.web.client).cart(v.bearer)
    except ShopError as exc:
        return failed(v, exc)
    return page(v, "cart.html", status, cart=cart, added=notes.get("added"),
                error=notes.get("error"))


@router.get("/cart", responses={200: HTML, 303: (None, "sign in first"), 400: HTML, 503: HTML})
async def show_cart(request: Request, web: WebContext, added: Annotated[str | None, Query(
        description="the SKU just added (the page says so)")] = None) -> Response:
    """Your cart: its lines, their prices and the total."""
    v = await shopper(request, web, "/cart")
    return await _show_cart(v, added=added if added and _SKU.match(added) else None)


async def _shopper_form(request: Request, web: WebContext, back: str) -> tuple[Visit, Posted]:
    """The signed-in shopper's visit and posted form; a form that fails the cross-site checks
    is answered with the refusal page, anyone else with the way to sign in (then ``back``)."""
    v = await visit(request, web)
    form = await posted(v)
    if not v.signed_in:
        raise Answer(sign_in_first(v, back))
    return v, form


@router.post("/cart/items", body=FORM, responses={**_FORMS, 404: HTML})
async def add_to_cart(request: Request, web: WebContext) -> Response:
    """Add one of a product (or `quantity`) to the cart: fields `sku`, `quantity`, `next` (the
    product page, where a visitor who is not signed in comes back to), `key` (made when the
    form was shown: a form sent twice, a double click, adds once)."""
    v = await visit(request, web)
    form = await posted(v)
    back = safe_next(form.get("next"), "/")
    if not v.signed_in:
        return sign_in_first(v, back)
    return await add_line(v, pending_add(form.get("sku"), form.get("quantity", "1")),
                          form.get("key"), back)


def pending_add(sku: str, quantity: str) -> tuple[str, int] | None:
    """An add asked for before signing in (the product page's fields, carried through the
    sign-in form), or None when there is none or it is not a valid one."""
    count = _quantity(quantity or "1")
    return (sku, count) if sku and _SKU.match(sku) and count is not None else None


async def add_line(v: Visit, wanted: tuple[str, int] | None, key: str, back: str) -> Response:
    """Add ``wanted`` (SKU, quantity: :func:`pending_add` of the form's fields; None when they
    are not valid) to the signed-in visitor's cart, then on to the cart; a refusal is a page in
    the shop's words with a way ``back``. ``key``, made with the form: the same form sent twice
    adds once."""
    if wanted is None:
        return bad_request(v, f"Choose between 1 and {MAX_QUANTITY} of a product.", back)
    sku = wanted[0]
    try:  # the cart adds under its lock: two tabs adding at once both count
        await Shop(v.web.client).add(v.bearer, *wanted, key if _KEY.match(key) else None)
    except Refused as exc:
        if exc.slug == LINE_FULL:
            return bad_request(v, f"A cart holds at most {MAX_QUANTITY} of one product.", back)
        return bad_request(v, exc.detail or "That product cannot be added.", back)
    except ShopError as exc:
        return failed(v, exc)
    return redirect(v, "/cart?added=" + quote(sku))


@router.post("/cart/items/{sku}", body=FORM, responses={**_FORMS, 404: HTML})
async def change_quantity(request: Request, web: WebContext, sku: str) -> Response:
    """Set how many of `sku` the cart holds (field `quantity`, 1 to 99)."""
    v, form = await _shopper_form(request, web, "/cart")
    quantity = _quantity(form.get("quantity"))
    if not _SKU.match(sku) or quantity is None:
        return await _show_cart(v, 400, error=f"A quantity is a number from 1 to {MAX_QUANTITY}; "
                                              "to drop a line, remove it.")
    try:
        await Shop(web.client).set_quantity(v.bearer, sku, quantity)
    except Refused as exc:
        return await _show_cart(v, 400, error=exc.detail or "That quantity cannot be set.")
    except ShopError as exc:
        return failed(v, exc, "item")
    return redirect(v, "/cart")


@router.post("/cart/items/{sku}/remove", body=FORM, responses=_FORMS)
async def remove_line(request: Request, web: WebContext, sku: str) -> Response:
    """Take `sku` out of the cart (a line already gone is fine)."""
    v, _ = await _shopper_form(request, web, "/cart")
    if not _SKU.match(sku):
        return bad_request(v, "There is no such line in your cart.", "/cart")
    try:
        await Shop(web.client).remove(v.bearer, sku)
    except ShopError as exc:
        if not isinstance(exc, (Refused, NotFound)):
            return failed(v, exc)
    return redirect(v, "/cart")


# what a shopper reads when orders refuses a checkout: heading, message, back link and its label
CHECKOUT_REFUSALS = {
    "orders/empty-cart": ("Your cart is empty",
                          "There is nothing to check out yet: add a product first.",
                          "/", "Find something you like"),
    # another tab's checkout, or the page sent again, before the cart applied the first order
    "orders/cart-already-ordered": ("This cart is already ordered",
                                    "An order of this cart is under way or done (the cart empties "
                                    "once it is confirmed). Change the cart to order again.",
                                    "/orders", "See your orders"),
}


@router.get("/checkout", responses={200: HTML, 303: (None, "sign in first"), 400: HTML,
                                     503: HTML})
async def checkout_form(request: Request, web: WebContext) -> Response:
    """The checkout: what is being bought, and the card to pay with."""
    v = await shopper(request, web, "/checkout")
    try:
        cart = await Shop(web.client).cart(v.bearer)
    except ShopError as exc:
        return failed(v, exc)
    return page(v, "checkout.html", cart=cart, cards=CARDS, card="tok_visa",
                key=f"web-{uuid.uuid4().hex}", error=None)


@router.post("/checkout", body=FORM, responses={
    303: (None, "placed: on to the order's page"), 400: HTML, 403: HTML, 503: HTML})
async def check_out(request: Request, web: WebContext) -> Response:
    """Place the order: fields `card`, `key` (the Idempotency-Key), `js`."""
    v, form = await _shopper_form(request, web, "/checkout")
    card, key = form.get("card"), form.get("key")
    shop = Shop(web.client)
    if card not in dict(CARDS) or not _KEY.match(key):
        try:
            cart = await shop.cart(v.bearer)
        except ShopError as exc:
            return failed(v, exc)
        return page(v, "checkout.html", 400, cart=cart, cards=CARDS, card="tok_visa",
                    key=f"web-{uuid.uuid4().hex}", error="Choose one of the test cards.")
    try:
        order = await shop.place_order(v.bearer, key, card, wait=form.get("js") != "1")
    except Refused as exc:
        if (says := CHECKOUT_REFUSALS.get(exc.slug)) is not None:
            heading, message, back, back_label = says
            return page(v, "error.html", 400, heading=heading, message=message, back=back,
                        back_label=back_label)
        return bad_request(v, exc.detail or "The order could not be placed.", "/cart")
    except ShopError as exc:
        return failed(v, exc)
    return redirect(v, f"/orders/{quote(str(order['id']), safe='')}")
