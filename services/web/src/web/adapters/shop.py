"""The services a shopper's pages read and change, each through :func:`upstream.call`: the
catalog and the stock (public), the cart, the orders and the mailbox (as the signed-in user).

Answers are the services' JSON documents as they are (dicts), which the templates read."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from chassis.http import ServiceClient
from web.adapters.upstream import call

__all__ = ["Shop", "path_segment"]

Json = dict[str, Any]
PAGE_SIZE = 12
# a checkout asked to wait for its outcome: the client's whole-call deadline (5 s) bounds it
CHECKOUT_WAIT = 4


def path_segment(value: str) -> str:
    """``value`` as one path segment (no separator, no dot segment can sneak in)."""
    return quote(value, safe="")


def _query(**params: str | int | None) -> str:
    kept = {k: v for k, v in params.items() if v is not None}
    return "?" + urlencode(kept) if kept else ""


class Shop:
    __slots__ = ("_client",)

    def __init__(self, client: ServiceClient) -> None:
        self._client = client

    # -- the catalog and the stock (no user needed)
    async def categories(self) -> list[Json]:
        return list((await call(self._client, "GET", "catalog", "/v1/categories"))["items"])

    async def products(self, *, cursor: str | None = None, category: str | None = None,
                       text: str | None = None, limit: int = PAGE_SIZE) -> Json:
        """A page ``{items, next}`` of products by name."""
        path = "/v1/products" + _query(limit=limit, cursor=cursor, category=category, q=text)
        return dict(await call(self._client, "GET", "catalog", path))

    async def product(self, product_id: str) -> Json:
        return dict(await call(self._client, "GET", "catalog",
                               f"/v1/products/{path_segment(product_id)}"))

    async def available(self, sku: str) -> int:
        """Units of ``sku`` that can be ordered now."""
        answer = await call(self._client, "GET", "inventory", f"/v1/stock/{path_segment(sku)}")
        return int(answer["available"])

    # -- the cart, as the signed-in user
    async def cart(self, bearer: str) -> Json:
        return dict(await call(self._client, "GET", "cart", "/v1/cart", bearer=bearer))

    async def add(self, bearer: str, sku: str, quantity: int, key: str | None) -> Json:
        """Add ``quantity`` of ``sku`` to the line. With ``key`` (the form's) an add sent again
        is made once, so it is retried like any idempotent call; without, it is sent once."""
        return dict(await call(self._client, "POST", "cart", "/v1/cart/items", bearer=bearer,
                               json={"sku": sku, "quantity": quantity},
                               headers=None if key is None else {"Idempotency-Key": key},
                               idempotent=key is not None))

    async def set_quantity(self, bearer: str, sku: str, quantity: int) -> Json:
        return dict(await call(self._client, "PUT", "cart", f"/v1/cart/items/{path_segment(sku)}",
                               bearer=bearer, json={"quantity": quantity}))

    async def remove(self, bearer: str, sku: str) -> None:
        await call(self._client, "DELETE", "cart", f"/v1/cart/items/{path_segment(sku)}",
                   bearer=bearer)

    # -- orders and the mailbox, as the signed-in user
    async def place_order(self, bearer: str, key: str, card_token: str, *, wait: bool) -> Json:
        """Check out the cart (``key`` makes a repeated submit the same order); ``wait``: answer
        once the order is final, or after a few seconds."""
        headers = {"Idempotency-Key": key}
        if wait:
            headers["Prefer"] = f"wait={CHECKOUT_WAIT}"
        return dict(await call(self._client, "POST", "orders", "/v1/orders", bearer=bearer,
                               json={"card_token": card_token}, headers=headers,
                               idempotent=True, timeout=CHECKOUT_WAIT + 0.8))

    async def order(self, bearer: str, order_id: str, *, deadline: float | None = None) -> Json:
        return dict(await call(self._client, "GET", "orders",
                               f"/v1/orders/{path_segment(order_id)}", bearer=bearer,
                               deadline=deadline))

    async def orders(self, bearer: str, cursor: str | None = None, limit: int = 10) -> Json:
        return dict(await call(self._client, "GET", "orders",
                               "/v1/orders" + _query(limit=limit, cursor=cursor), bearer=bearer))

    async def mailbox(self, bearer: str, cursor: str | None = None, limit: int = 10) -> Json:
        return dict(await call(self._client, "GET", "notifications",
                               "/v1/notifications" + _query(limit=limit, cursor=cursor),
                               bearer=bearer))
