"""The cart's use cases. Each change is one transaction that starts by locking the cart; prices
are asked for before it opens, never while it is open."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from cart.domain.cart import MAX_QUANTITY, Cart, CartLine, check_quantity, check_replacement, check_sku
from cart.domain.errors import AddKeyReused, CartChanged, InvalidQuantity, MixedCurrencies, UnknownSku
from cart.domain.pricing import PricedCart, price_cart
from cart.service.ports import CartRepository, CartUnitOfWork
from cart.service.pricing import Pricer, Quotes

__all__ = ["Versions", "add_item", "clear_cart", "remove_item", "remove_ordered_lines",
           "replace_cart", "set_item", "view_cart"]


# the versions a change is made for (``If-Match``): the cart must be at one of them; None: any
Versions = frozenset[int] | None


def _made_for(versions: Versions, bumped: int) -> None:
    """Inside the change's transaction, once its first statement bumped the version (and holds
    the cart's lock): refuse it, rolled back, unless the cart was at one of ``versions``."""
    if versions is not None and bumped - 1 not in versions:
        raise CartChanged(bumped - 1)


async def view_cart(uow: CartUnitOfWork, pricer: Pricer, user_id: str, *, default_currency: str,
                    deadline: float | None = None) -> PricedCart:
    """The user's cart with a price per line (cached ones flagged stale while the catalog is
    away); ``deadline`` (Unix seconds) bounds the catalog call."""
    async with uow(readonly=True) as carts:
        cart = await carts.get(user_id)
    if not cart.lines:
        return price_cart(cart, {}, (), default_currency=default_currency)
    found = await pricer.quote((line.sku for line in cart.lines), deadline=deadline)
    return price_cart(cart, found.quotes, found.missing, default_currency=default_currency)


async def set_item(uow: CartUnitOfWork, pricer: Pricer, user_id: str, sku: str, quantity: int,
                   now: datetime, *, versions: Versions = None) -> None:
    """Set a line's quantity, adding the line if absent; the catalog must sell the SKU."""
    await _change_line(uow, pricer, user_id, sku, quantity, now, versions, add=False)


async def add_item(uow: CartUnitOfWork, pricer: Pricer, user_id: str, sku: str, quantity: int,
                   now: datetime, *, versions: Versions = None, key: str | None = None) -> bool:
    """Add ``quantity`` of ``sku`` to what the cart holds of it (a new line if none), under the
    cart's lock: two adds at once both count, where a read and a ``set_item`` of the sum could
    lose one. The catalog must sell the SKU; the line stays within ``MAX_QUANTITY``. ``key``
    (an Idempotency-Key): an add already made with it is not made again (False)."""
    return await _change_line(uow, pricer, user_id, sku, quantity, now, versions, add=True,
                              key=key)


async def _change_line(uow: CartUnitOfWork, pricer: Pricer, user_id: str, sku: str, quantity: int,
                       now: datetime, versions: Versions, *, add: bool,
                       key: str | None = None) -> bool:
    check_sku(sku)
    check_quantity(quantity)
    # priced before writing, with the lines the cart holds: a line of another currency (or one
    # with no price to be had) is refused before anything is stored
    async with uow(readonly=True) as carts:
        held = await carts.get(user_id)
    found = await pricer.quote([sku, *(line.sku for line in held.lines)])
    if sku in found.missing:
        raise UnknownSku(f"the catalog does not sell {sku!r}")
    request = f"{'add' if add else 'set'} {quantity} {sku}"
    async with uow() as carts:
        if key is not None:
            made = await carts.claim_add_key(user_id, key, request, now)
            if made is not None:
                if made and made != request:
                    raise AddKeyReused(key)
                return False  # made already: the cart as it is, version and all
        cart = await carts.lock(user_id, now)
        _made_for(versions, cart.version)
        if add and (line := cart.line(sku)) is not None:
            if line.quantity + quantity > MAX_QUANTITY:
                raise InvalidQuantity(f"a line holds at most {MAX_QUANTITY}, and the cart "
                                      f"holds {line.quantity} of {sku} already")
            quantity += line.quantity
        cart.check_can_set(sku, quantity)
        _check_one_currency(cart, sku, found, pricer)
        await carts.set_quantity(user_id, sku, quantity, now, cart.version)
    return True


def _check_one_currency(cart: Cart, sku: str, found: Quotes, pricer: Pricer) -> None:
    """Refuse (``MixedCurrencies``, rolled back) a line of ``sku`` in a cart whose other lines
    are priced in another currency. A line added by another change since ``found`` was quoted
    is checked by the price that change cached; lines the catalog no longer sells do not count,
    as when the cart is priced."""
    others = [line.sku for line in cart.lines if line.sku != sku and line.sku not in found.missing]
    prices = {other: quote.price for other, quote in found.quotes.items()}
    prices |= {other: entry.price
               for other, entry in pricer.cached([o for o in others if o not in prices]).items()}
    theirs = sorted({prices[other].currency for other in others if other in prices})
    mine = prices[sku].currency
    if theirs and theirs != [mine]:
        raise MixedCurrencies(f"{sku} is priced in {mine} and the cart holds lines priced in "
                              f"{', '.join(theirs)}: a cart holds one currency")


async def replace_cart(uow: CartUnitOfWork, pricer: Pricer, user_id: str,
                       lines: Iterable[tuple[str, int]], now: datetime, *,
                       default_currency: str, versions: Versions = None) -> PricedCart:
    """Make the cart hold exactly ``lines`` (SKU, quantity), every SKU sold, and answer it priced.

    On the checkout's path, so it costs one price lookup at most (none while the cached prices
    are fresh) and one transaction: the answer is priced from the quotes already in hand rather
    than read back. A refused replacement changes nothing."""
    wanted = [CartLine(sku, quantity) for sku, quantity in lines]
    check_replacement(wanted)
    found = await pricer.quote(line.sku for line in wanted) if wanted else None
    if found is not None and found.missing:
        raise UnknownSku(f"the catalog does not sell {', '.join(sorted(found.missing))}")
    quotes = found.quotes if found is not None else {}
    # priced before writing, so mixed currencies are refused before anything is stored
    price_cart(Cart(user_id, tuple(wanted)), quotes, (), default_currency=default_currency)
    async with uow() as carts:
        cart = await carts.replace(user_id, wanted, now)
        _made_for(versions, cart.version)
    return price_cart(cart, quotes, (), default_currency=default_currency)


async def remove_item(uow: CartUnitOfWork, user_id: str, sku: str, now: datetime, *,
                      versions: Versions = None) -> int:
    """Take the line of ``sku`` out of the cart (``ItemNotFound`` when there is none); its
    version."""
    check_sku(sku)
    async with uow() as carts:
        cart = await carts.lock(user_id, now)
        _made_for(versions, cart.version)
        cart.check_has(sku)
        await carts.remove(user_id, [sku])
    return cart.version


async def clear_cart(uow: CartUnitOfWork, user_id: str, now: datetime, *,
                     versions: Versions = None) -> int:
    """Empty the cart (an empty one too: its version still counts the change); its version."""
    async with uow() as carts:
        version = await carts.touch(user_id, now)
        _made_for(versions, version)
        await carts.clear(user_id)
    return version


async def remove_ordered_lines(carts: CartRepository, user_id: str,
                               lines: Iterable[tuple[str, int]], now: datetime, *,
                               cart_version: int | None = None) -> int:
    """After an order is confirmed: what it ordered leaves the cart (inside the caller's
    transaction). ``cart_version``, the version of the cart the order was taken from: a line
    the buyer has not set since goes, one set since stays (a cart refilled for the next order
    before this one was confirmed loses nothing of it, even at the same quantity). Without it
    (an older order), or for a line whose last change is not known, by quantity: a line holding
    no more than was ordered goes, one the buyer added to keeps what was added (see
    ``Cart.ordered``). A cart the order changes nothing of is left as it is, version included.
    How many lines changed."""
    quantities: dict[str, int] = {}
    for sku, quantity in lines:
        quantities[sku] = quantities.get(sku, 0) + quantity
    ordered = (await carts.get(user_id)).ordered(quantities, cart_version)
    if not ordered:
        return 0
    await carts.touch(user_id, now)  # the row lock: no change to the cart runs until we commit
    changed = 0
    if ordered.remove and cart_version is not None:  # only with a version are lines removed
        # whole: a line set between the read and the lock is spared there, under the lock
        changed += await carts.remove_unchanged(user_id, ordered.remove, cart_version)
    for sku, quantity in ordered.take:
        changed += await carts.take(user_id, sku, quantity)
    return changed
