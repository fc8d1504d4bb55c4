"""The shopper's orders: the history, one order with its checkout's steps (followed live over
server-sent events when JavaScript is on), and the mailbox."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

import orjson

from chassis import clock
from chassis.tasks import cancel_and_wait
from chassis.web import Answer, Media, Path, Query, Request, Response, Router, StreamResponse
from web.adapters.shop import Shop
from web.domain.errors import Refused, ShopError
from web.domain.money import when
from web.domain.progress import Progress, progress
from web.entrypoints.failures import bad_request, failed, not_found, shopper
from web.entrypoints.pages import HTML, Visit, page
from web.service.context import WebContext

__all__ = ["router"]

router = Router(tags=["orders"], ignore_other_query=True)

OrderId = Annotated[str, Path()]
Cursor = Annotated[str | None, Query(description="the page after this one (from a `Next` link)")]
LIVE_EVERY = 0.25  # seconds between two looks at the order
LIVE_FOR = 25.0  # one stream's longest life (the browser reconnects; under the gateway's 30 s)
_MAX_ID, _MAX_CURSOR = 64, 500
_SIGN_IN = (None, "sign in first")
_STREAM = Media("text/event-stream", "`progress` events (the steps as JSON) until the order is "
                                     "final, or for 25 s at most")


async def _view(shop: Shop, order: dict[str, Any]) -> Progress:
    return progress(str(order["status"]), order.get("reason"), await _short_items(shop, order))


@router.get("/orders", responses={200: HTML, 303: _SIGN_IN, 400: HTML, 503: HTML})
async def order_history(request: Request, web: WebContext, cursor: Cursor = None) -> Response:
    """Your orders, newest first, a page at a time."""
    return await _listing(request, web, cursor, "/orders", Shop.orders, "orders.html",
                          progress=progress, when=when)


@router.get("/orders/{order_id}", responses={200: HTML, 303: _SIGN_IN, 400: HTML, 404: HTML,
                                             503: HTML})
async def order_page(request: Request, web: WebContext, order_id: OrderId) -> Response:
    """One of your orders: its status, the checkout's steps, its lines and total."""
    v, shop, order = await _your_order(request, web, order_id)
    try:
        view = await _view(shop, order)
    except ShopError as exc:
        return failed(v, exc, "order")
    return page(v, "order.html", order=order, view=view)


async def _your_order(request: Request, web: WebContext,
                      order_id: str) -> tuple[Visit, Shop, dict[str, Any]]:
    """The signed-in shopper's visit and their order ``order_id``, as the shop has it now;
    anyone else is answered with the way to sign in, a missing order with its error page."""
    v = await shopper(request, web, f"/orders/{order_id}")
    if len(order_id) > _MAX_ID:
        raise Answer(not_found(v, "order"))
    shop = Shop(web.client)
    try:
        return v, shop, await shop.order(v.bearer, order_id)
    except ShopError as exc:
        raise Answer(failed(v, exc, "order")) from None


async def _short_items(shop: Shop, order: dict[str, Any]) -> list[str]:
    """For an order cancelled for want of stock: the names of its lines that are short now
    (orders keeps the reason, not the items; the stock as it is now is the best guess)."""
    if order["status"] != "CANCELLED" or order.get("reason") not in (
            "insufficient-stock", "out-of-stock"):
        return []
    short = []
    for line in order["lines"][:20]:
        with contextlib.suppress(ShopError):
            if await shop.available(line["sku"]) < line["quantity"]:
                short.append(line.get("name") or line["sku"])
    return short


def _event(view: Progress) -> bytes:
    return b"event: progress\ndata: " + orjson.dumps(view.as_json()) + b"\n\n"


@router.get("/orders/{order_id}/live", responses={200: _STREAM, 303: _SIGN_IN, 400: HTML,
                                                  404: HTML, 503: HTML})
async def order_live(request: Request, web: WebContext, order_id: OrderId) -> Response:
    """Server-sent events: the order's steps now and at every change, until it is final."""
    v, shop, first = await _your_order(request, web, order_id)
    bearer = v.bearer

    async def stream() -> AsyncIterator[bytes]:
        view = await _view(shop, first)
        yield b"retry: 2000\n" + _event(view)
        hung_up = asyncio.ensure_future(request.disconnected())
        ends = time.monotonic() + LIVE_FOR
        try:
            while not view.final and time.monotonic() < ends:
                await asyncio.wait({hung_up}, timeout=LIVE_EVERY)
                if hung_up.done():
                    return
                try:  # a deadline of its own: the page's request has long been answered
                    order = await shop.order(bearer, order_id, deadline=clock.time() + 2.0)
                except ShopError:
                    continue  # a missed look; the next one may work
                now = await _view(shop, order)
                if now != view:
                    view = now
                    yield _event(view)
        finally:
            await cancel_and_wait(hung_up)

    return StreamResponse(stream(), media_type="text/event-stream",
                          headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no",
                                   "X-Content-Type-Options": "nosniff"})


@router.get("/mailbox", responses={200: HTML, 303: _SIGN_IN, 400: HTML, 503: HTML})
async def mailbox(request: Request, web: WebContext, cursor: Cursor = None) -> Response:
    """Your messages from the shop (order confirmations and cancellations), newest first."""
    return await _listing(request, web, cursor, "/mailbox", Shop.mailbox, "mailbox.html")


async def _listing(request: Request, web: WebContext, cursor: str | None, path: str,
                   read: Callable[[Shop, str, str | None], Awaitable[dict[str, Any]]], template: str,
                   **context: Any) -> Response:
    """One page of a signed-in shopper's listing at ``path``, read from the shop by ``read``."""
    v = await shopper(request, web, path)
    if cursor is not None and not 0 < len(cursor) <= _MAX_CURSOR:
        return bad_request(v, "That page link is broken.", path)
    try:
        listing = await read(Shop(web.client), v.bearer, cursor)
    except Refused as exc:  # a cursor the service does not take (altered, cut short)
        if cursor is not None and exc.status == 400:
            return bad_request(v, "That page link is broken.", path)
        return failed(v, exc)
    except ShopError as exc:
        return failed(v, exc)
    return page(v, template, listing=listing, **context)
