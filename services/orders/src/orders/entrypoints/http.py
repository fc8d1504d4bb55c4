"""The orders HTTP API: place (idempotent), list and read your own orders, follow one live."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Header, Query
from starlette.responses import Response, StreamingResponse

from chassis.auth import CurrentUser, Principal, require_role
from chassis.openapi import problem_responses
from orders.adapters import queries
from orders.domain.errors import OrderNotFound
from orders.domain.order import Order
from orders.entrypoints.context import Orders, OrdersDep
from orders.entrypoints.schemas import PlaceOrderIn, order_json
from orders.service.checkout import place_order

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["orders"])
Admin = Annotated[Principal, Depends(require_role("admin"))]
_WAIT = re.compile(r"(?:^|[,;\s])wait=(\d+(?:\.\d+)?)")
KEY_PATTERN = r"^[\x21-\x7e]{1,200}$"
JSON = "application/json"


def _json(doc: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(doc), status_code=status, media_type=JSON, headers=headers)


def _prefer_wait(prefer: str | None, cap: float) -> float:
    if not prefer:
        return 0.0
    match = _WAIT.search(prefer)
    return min(float(match.group(1)), cap) if match else 0.0


async def _own(orders: Orders, user: Principal, order_id: str) -> Order:
    order = await queries.get_order(orders.db, order_id) if len(order_id) <= 64 else None
    if order is None or order.user_id != user.id:
        raise OrderNotFound(order_id)
    return order


async def wait_for_change(orders: Orders, order: Order, seconds: float) -> Order:
    """The order once it is terminal, or as it is after ``seconds``. Woken by in-process
    notices; polls too, for sagas another instance drives."""
    deadline = time.monotonic() + seconds
    event = orders.notices.watch(order.id)
    try:
        while not order.terminal:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(left, 0.5))
            # cleared before the read, not after: a notice sent after this read sets it again,
            # so no change can slip between the read and the next wait
            event.clear()
            order = await queries.get_order(orders.db, order.id) or order
    finally:
        orders.notices.unwatch(order.id, event)
    return order


@router.post("/orders", status_code=201, responses=problem_responses({
    400: "no or bad Idempotency-Key, or a bad body", 401: "no valid access token",
    422: "empty cart (orders/empty-cart) or key reused for another request "
         "(orders/idempotency-key-reused)",
    503: "the cart could not be read (orders/cart-unavailable)"}))
async def place(body: PlaceOrderIn, user: CurrentUser, orders: OrdersDep,
                idempotency_key: Annotated[str, Header(
                    alias="Idempotency-Key", pattern=KEY_PATTERN,
                    description="one key per checkout attempt; a retry with the same key "
                                "returns the same order")],
                prefer: Annotated[str | None, Header(
                    description="`wait=N`: answer once the order is confirmed or cancelled, "
                                "or after N seconds")] = None) -> Response:
    """Check out the caller's cart. The order starts PENDING; with `Prefer: wait=N` the answer
    comes when it is CONFIRMED or CANCELLED (or after N seconds)."""
    placed = await place_order(orders.uow, orders.carts, orders.runner, user_id=user.id,
                               idempotency_key=idempotency_key, card_token=body.card_token)
    order = placed.order
    headers = {"Location": f"/v1/orders/{order.id}"}
    if (wait := _prefer_wait(prefer, orders.max_wait)) > 0:
        order = await wait_for_change(orders, order, wait)
        headers["Preference-Applied"] = f"wait={wait:g}"
    return _json(order_json(order), 201 if placed.created else 200, headers)


@router.get("/orders")
async def list_orders(user: CurrentUser, orders: OrdersDep,
                      limit: Annotated[int, Query(ge=1, le=100)] = 20,
                      before: Annotated[str | None, Query(max_length=64,
                                                          description="`next` of the previous page")] = None,
                      ) -> Response:
    """Your orders, newest first."""
    page = await queries.user_page(orders.db, user.id, before=before, limit=limit)
    return _json({"items": [order_json(o) for o in page],
                  "next": page[-1].id if len(page) == limit else None})


@router.get("/orders/{order_id}", responses=problem_responses({404: "no such order of yours"}))
async def get_order(order_id: str, user: CurrentUser, orders: OrdersDep) -> Response:
    return _json(order_json(await _own(orders, user, order_id)))


@router.get("/orders/{order_id}/events", responses=problem_responses({404: "no such order of yours"}))
async def order_events(order_id: str, user: CurrentUser, orders: OrdersDep) -> Response:
    """Server-sent events: the order's status now and at every change, until it is final."""
    order = await _own(orders, user, order_id)

    async def stream() -> AsyncIterator[bytes]:
        current = order
        yield b"event: status\ndata: " + orjson.dumps(order_json(current)) + b"\n\n"
        quiet = time.monotonic()
        while not current.terminal:
            changed = await wait_for_change(orders, current, 15.0)
            if changed.status != current.status or changed.updated_at != current.updated_at:
                current = changed
                yield b"event: status\ndata: " + orjson.dumps(order_json(current)) + b"\n\n"
                quiet = time.monotonic()
            elif time.monotonic() - quiet >= 15.0:
                yield b": still waiting\n\n"
                quiet = time.monotonic()

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/admin/orders", tags=["operations"])
async def admin_orders(_: Admin, orders: OrdersDep,
                       after: Annotated[str | None, Query(max_length=64)] = None,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 500) -> Response:
    """Every order, oldest first (for `souk verify`)."""
    page = await queries.admin_page(orders.db, after=after, limit=limit)
    return _json({"items": [order_json(o) for o in page],
                  "next": page[-1].id if len(page) == limit else None})


@router.get("/admin/orders/{order_id}", tags=["operations"],
            responses=problem_responses({404: "no such order"}))
async def admin_order(order_id: str, _: Admin, orders: OrdersDep) -> Response:
    """One order with its saga's step journal."""
    order = await queries.get_order(orders.db, order_id) if len(order_id) <= 64 else None
    if order is None:
        raise OrderNotFound(order_id)
    journal = await queries.journal_of(orders.db, order_id)
    return _json({**order_json(order), "journal": journal})
