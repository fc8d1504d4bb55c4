"""The cart's use cases. Each change is one transaction that starts by locking the cart."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from cart.domain.cart import MAX_LINES, check_quantity, check_sku
from cart.domain.errors import CartFull, DuplicateSku, UnknownSku
from cart.domain.pricing import PricedCart, price_cart
from cart.service.ports import CartRepository, UnitOfWork
from cart.service.pricing import Pricer

__all__ = ["clear_cart", "remove_item", "remove_ordered_lines", "replace_cart", "set_item",
           "view_cart"]

async def view_cart(uow: UnitOfWork, pricer: Pricer, user_id: str, *, default_currency: str,
                    deadline: float | None = None) -> PricedCart:
    async with uow.transaction(readonly=True) as carts:
        cart = await carts.get(user_id)
    if not cart.lines:
        return price_cart(cart, {}, (), default_currency=default_currency)
    found = await pricer.quote((line.sku for line in cart.lines), deadline=deadline)
    return price_cart(cart, found.quotes, found.missing, default_currency=default_currency)

async def set_item(uow: UnitOfWork, pricer: Pricer, user_id: str, sku: str, quantity: int,
                   now: datetime) -> None:
    """Set a line's quantity, adding the line if absent; the catalog must sell the SKU."""
    check_sku(sku)
    check_quantity(quantity)
    found = await pricer.quote([sku])  # before the transaction: no network I/O while it is open
    if sku in found.missing:
        raise UnknownSku(f"the catalog does not sell {sku!r}")
    async with uow.transaction() as carts:
        cart = await carts.lock(user_id, now)
        cart.check_can_set(sku, quantity)
        await carts.set_quantity(user_id, sku, quantity, now)

async def replace_cart(uow: UnitOfWork, pricer: Pricer, user_id: str,
                       lines: Iterable[tuple[str, int]], now: datetime) -> None:
    """Make the cart hold exactly ``lines`` (SKU, quantity); every SKU must be sold."""
    wanted = list(lines)
    for sku, quantity in wanted:
        check_sku(sku)
        check_quantity(quantity)
    skus = [sku for sku, _ in wanted]
    if len(set(skus)) != len(skus):
        raise DuplicateSku("each SKU may appear once")
    if len(skus) > MAX_LINES:
        raise CartFull(f"a cart holds at most {MAX_LINES} different items")
    if skus:
        found = await pricer.quote(skus)  # before the transaction: no network I/O while it is open
        if found.missing:
            raise UnknownSku(f"the catalog does not sell {', '.join(sorted(found.missing))}")
    async with uow.transaction() as carts:
        await carts.lock(user_id, now)
        await carts.clear(user_id)
        for sku, quantity in wanted:
            await carts.set_quantity(user_id, sku, quantity, now)


async def remove_item(uow: UnitOfWork, user_id: str, sku: str, now: datetime) -> None:
    check_sku(sku)
    async with uow.transaction() as carts:
        cart = await carts.lock(user_id, now)
        cart.check_has(sku)
        await carts.remove(user_id, [sku])

async def clear_cart(uow: UnitOfWork, user_id: str, now: datetime) -> None:
    async with uow.transaction() as carts:
        await carts.lock(user_id, now)
        await carts.clear(user_id)

async def remove_ordered_lines(carts: CartRepository, user_id: str, skus: Iterable[str],
                               now: datetime) -> int:
    """After an order is confirmed: its SKUs leave the cart (inside the caller's transaction)."""
    ordered = list(dict.fromkeys(skus))
    cart = await carts.get(user_id)
    present = [sku for sku in ordered if cart.line(sku) is not None]
    if not present:
        return 0
    await carts.lock(user_id, now)
    return await carts.remove(user_id, present)
