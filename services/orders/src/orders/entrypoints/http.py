"""The orders HTTP API: place (idempotent), list and read your own orders, follow one live; the
admin listings; the internal saga status lookup of inventory."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncGenerator, Callable
from typing import Annotated

import msgspec

from chassis.pagination import CursorCodec, CursorParam, InvalidCursor, Page
from chassis.problems import Problem
from chassis.tasks import cancel_and_wait
from chassis.web import (
    ADMIN,
    USER,
    Header,
    Media,
    Path,
    Principal,
    Priority,
    Query,
    Request,
    Router,
    StreamResponse,
    services,
)
from chassis.web.responses import Response, json_response
from orders.domain.errors import (
    CartAlreadyOrdered,
    CartNotOrderable,
    CartUnavailable,
    EmptyCart,
    IdempotencyKeyReused,
    OrderNotFound,
)
from orders.domain.order import Order
from orders.entrypoints.schemas import (
    OrderDetailOut,
    OrderOut,
    PlaceOrderIn,
    SagaStatusesIn,
    SagaStatusesOut,
    SagaStatusOut,
)
from orders.service.checkout import place_order
from orders.service.context import OrdersContext
from orders.service.waits import AllStreamsTaken, AllWaitsTaken, TooManyWaits

__all__ = ["router"]

router = Router(tags=["orders"])

# RFC 7240: wait=delta-seconds, whole seconds; fractions (tests use them) are read to the
# millisecond. Anything else ("wait=1e9", "wait=5s") is no wait preference at all.
_WAIT = re.compile(r"(?:^|[,;\s])wait=(\d+(?:\.\d+)?)(?=$|[,;\s])")
_OWN_PAGES = CursorCodec("orders.own.v1")
_ALL_PAGES = CursorCodec("orders.all.v1")
OrderId = Annotated[str, Path(max_length=64)]
IdempotencyKey = Annotated[str, Header(
    "Idempotency-Key", pattern=r"^[\x21-\x7e]{1,200}$",
    description="one key per checkout attempt; a retry with the same key returns the same order")]
Prefer = Annotated[str | None, Header(
    max_length=200, description="`wait=N`: answer once the order is confirmed or cancelled, or "
                                "after N seconds")]
_ENCODER = msgspec.json.Encoder()
# a wait ends when its order is final (usually well within a second) or after `Prefer: wait`
_RETRY_WAIT_AFTER = "1"
_RETRY_STREAM_AFTER = "5"  # a stream lasts until its order is final: seconds, usually
_QUICK_WAIT = 0.5  # seconds of a long poll before its caller's hang-up is watched for
_TOO_MANY_WAITS = {429: "the caller already holds as many long polls (`Prefer: wait`) and status "
                        "streams as allowed; `Retry-After` says when to try again "
                        "(orders/too-many-waits)"}


def _wait_slot(orders: OrdersContext, user: Principal, *, poll: bool = False
               ) -> Callable[[], None]:
    """One of the caller's wait slots (its release), or the 429 problem; for a long poll,
    :class:`AllWaitsTaken` past the instance's bound; for a stream, a 429 problem past it: a
    resource exhausted (as gRPC's RESOURCE_EXHAUSTED maps to 429), not a service shedding load,
    which a 503 with Retry-After would tell the edge, and it would then refuse every read of
    orders for a second."""
    try:
        return orders.waits.take(user.id, poll=poll)
    except TooManyWaits as exc:  # a limit of this process, and its answer carries a header
        raise Problem(429, "orders/too-many-waits", str(exc),
                      headers={"Retry-After": _RETRY_WAIT_AFTER}) from None
    except AllStreamsTaken as exc:
        raise Problem(429, "orders/too-many-streams", str(exc),
                      headers={"Retry-After": _RETRY_STREAM_AFTER}) from None


class _Held:
    """A stream's chunks holding a wait slot until the stream is closed, however it ends (even
    before its first chunk)."""

    def __init__(self, chunks: AsyncGenerator[bytes, None], release: Callable[[], None]) -> None:
        self._chunks = chunks
        self._release = release

    def __aiter__(self) -> _Held:
        return self

    async def __anext__(self) -> bytes:
        return await anext(self._chunks)

    async def aclose(self) -> None:
        self._release()
        await self._chunks.aclose()


def _prefer_wait(prefer: str | None, cap: float) -> float:
    if not prefer:
        return 0.0
    match = _WAIT.search(prefer)
    return round(min(float(match.group(1)), cap), 3) if match else 0.0


async def _read(orders: OrdersContext, order_id: str) -> Order | None:
    async with orders.uow(readonly=True) as repo:
        return await repo.get(order_id)


async def _own(orders: OrdersContext, user: Principal, order_id: str) -> Order:
    order = await _read(orders, order_id)
    if order is None or order.user_id != user.id:
        raise OrderNotFound(order_id)
    return order


async def wait_for_change(orders: OrdersContext, order: Order, seconds: float, *,
                          final_only: bool, hung_up: asyncio.Future[None] | None = None,
                          ) -> Order:
    """The order once it changed (``final_only``: once it is confirmed or cancelled), as it is
    after ``seconds``, or as it is once ``hung_up`` is done (the caller has gone: nobody is left
    to answer). Woken by in-process notices; polls too, for sagas another instance drives."""
    deadline = time.monotonic() + seconds
    event = orders.notices.watch(order.id, final_only=final_only)

    def wake(_: asyncio.Future[None]) -> None:
        event.set()

    if hung_up is not None:
        hung_up.add_done_callback(wake)
    seen = order
    try:
        while not order.terminal and not (hung_up is not None and hung_up.done()):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(left, 0.5))
            # cleared before the read, not after: a notice sent after this read sets it again,
            # so no change can slip between the read and the next wait
            event.clear()
            order = (final_only and orders.notices.finished(order.id)) or \
                await _read(orders, order.id) or order
            if not final_only and order.updated_at != seen.updated_at:
                break
    finally:
        if hung_up is not None:
            hung_up.remove_done_callback(wake)
        orders.notices.unwatch(order.id, event)
    return order


def _hang_up(request: Request) -> asyncio.Task[None]:
    """Done once the client of ``request`` hangs up: a wait stops waiting for nobody, and gives
    its slot back (cancel it with ``cancel_and_wait`` when the wait ends)."""
    return asyncio.create_task(request.disconnected())


async def _long_poll(orders: OrdersContext, order: Order, seconds: float,
                     request: Request) -> Order:
    """``Prefer: wait``: the order once final, or after ``seconds``, or once the caller hangs
    up. The hang-up is watched only from ``_QUICK_WAIT`` on: most checkouts are final sooner,
    and the watch is a task (~25 µs a checkout when every wait had one); a caller who hung up
    earlier is seen as soon as it starts. One wait throughout, so no notice can fall between."""
    loop = asyncio.get_running_loop()
    hung_up: asyncio.Future[None] = loop.create_future()
    watch: asyncio.Task[None] | None = None

    def gone(task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is None and not hung_up.done():
            hung_up.set_result(None)

    def start_watching() -> None:
        nonlocal watch
        watch = _hang_up(request)
        watch.add_done_callback(gone)

    timer = loop.call_later(_QUICK_WAIT, start_watching)
    try:
        return await wait_for_change(orders, order, seconds, final_only=True, hung_up=hung_up)
    finally:
        timer.cancel()
        if watch is not None:
            await cancel_and_wait(watch)


@router.post("/v1/orders", auth=USER,
             raises=(EmptyCart, IdempotencyKeyReused, CartAlreadyOrdered, CartUnavailable,
                     CartNotOrderable),
             responses={201: (OrderOut, "placed; with `Prefer: wait` usually already final"),
                        200: (OrderOut, "this key placed the order before: the same order")},
             problems=_TOO_MANY_WAITS,
             headers={"Location": "the order's address",
                      "Preference-Applied": "`wait=N`: the answer waited for the order to be "
                                            "final, at most N seconds (RFC 7240)"})
async def place(body: PlaceOrderIn, user: Principal, orders: OrdersContext,
                idempotency_key: IdempotencyKey, request: Request,
                prefer: Prefer = None) -> Response:
    """Check out the caller's cart.

    The order starts PENDING; with `Prefer: wait=N` the answer comes when it is CONFIRMED or
    CANCELLED (or after N seconds). A caller already holding as many waits as allowed gets 429
    before anything is placed: the same request later, with the same key, is safe. A wait
    counts as one of the caller's until it ends, or the caller hangs up. A cart is ordered once
    as it is: another key for the cart an order not cancelled was taken from is 409."""
    wait = _prefer_wait(prefer, orders.max_wait)
    release = None
    if wait > 0:
        try:
            release = _wait_slot(orders, user, poll=True)
        except AllWaitsTaken:  # a preference, not a demand: the order is answered at once
            wait = 0.0
    try:
        placed = await place_order(orders.uow, orders.carts, orders.runner, user_id=user.id,
                                   idempotency_key=idempotency_key, card_token=body.card_token)
        order = placed.order
        headers = {"Location": f"/v1/orders/{order.id}"}
        if wait > 0:
            request.waiting()  # the work is done: waiting refuses nobody else's work
            order = await _long_poll(orders, order, wait, request)
            headers["Preference-Applied"] = f"wait={wait:g}"
    finally:
        if release is not None:
            release()
    return json_response(OrderOut.of(order), 201 if placed.created else 200, headers=headers)


@router.get("/v1/orders", auth=USER, raises=(InvalidCursor,))
async def list_orders(user: Principal, orders: OrdersContext, cursor: CursorParam = None,
                      limit: Annotated[int, Query(ge=1, le=100)] = 20) -> Page[OrderOut]:
    """Your orders, newest first."""
    before = _OWN_PAGES.decode(cursor, (str,))[0] if cursor else None
    async with orders.uow(readonly=True) as repo:
        found = await repo.page_of_user(user.id, before=str(before) if before else None,
                                        limit=limit + 1)  # one more: is there a next page?
    page = found[:limit]
    nxt = _OWN_PAGES.encode([page[-1].id]) if len(found) > limit else None
    return Page([OrderOut.of(o) for o in page], nxt)


@router.get("/v1/orders/{order_id}", auth=USER, raises=(OrderNotFound,))
async def get_order(order_id: OrderId, user: Principal, orders: OrdersContext) -> OrderOut:
    """One of your orders."""
    return OrderOut.of(await _own(orders, user, order_id))


@router.get("/v1/orders/{order_id}/events", auth=USER, raises=(OrderNotFound,),
            responses={200: Media("text/event-stream", "`status` events until it is final")},
            problems={429: _TOO_MANY_WAITS[429] + "; or this instance holds as many status "
                      "streams, all callers together, as it allows (orders/too-many-streams)"},
            priority=Priority.EXEMPT)  # a wait, not work: bounded apart
async def order_events(order_id: OrderId, user: Principal, orders: OrdersContext,
                       request: Request) -> Response:
    """Server-sent events: the order's status now and at every change, until it is final.

    A stream counts as one of the caller's waits until it ends, or its client hangs up, and as
    one of the instance's streams: past `ORDERS_MAX_STREAMS` in all, 429 with Retry-After."""
    order = await _own(orders, user, order_id)
    release = _wait_slot(orders, user)

    async def stream() -> AsyncGenerator[bytes, None]:
        current = order
        yield b"event: status\ndata: " + _ENCODER.encode(OrderOut.of(current)) + b"\n\n"
        quiet = time.monotonic()
        # noticed at once: a stream nobody reads would hold its slot until the order is final
        hung_up = _hang_up(request)
        try:
            while not current.terminal:
                changed = await wait_for_change(orders, current, 15.0, final_only=False,
                                                hung_up=hung_up)
                if hung_up.done():
                    return
                if changed.status != current.status or changed.updated_at != current.updated_at:
                    current = changed
                    yield b"event: status\ndata: " + _ENCODER.encode(OrderOut.of(current)) + b"\n\n"
                    quiet = time.monotonic()
                elif time.monotonic() - quiet >= 15.0:
                    yield b": still waiting\n\n"
                    quiet = time.monotonic()
        finally:
            await cancel_and_wait(hung_up)

    return StreamResponse(_Held(stream(), release), media_type="text/event-stream",
                          headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/v1/admin/orders", auth=ADMIN, raises=(InvalidCursor,), tags=["operations"])
async def admin_orders(orders: OrdersContext, cursor: CursorParam = None,
                       limit: Annotated[int, Query(ge=1, le=1000)] = 500) -> Page[OrderOut]:
    """Every order, oldest first (for `souk verify`)."""
    after = _ALL_PAGES.decode(cursor, (str,))[0] if cursor else None
    async with orders.uow(readonly=True) as repo:
        found = await repo.page(after=str(after) if after else None, limit=limit + 1)
    page = found[:limit]
    nxt = _ALL_PAGES.encode([page[-1].id]) if len(found) > limit else None
    return Page([OrderOut.of(o) for o in page], nxt)


@router.get("/v1/admin/orders/{order_id}", auth=ADMIN, raises=(OrderNotFound,),
            tags=["operations"])
async def admin_order(order_id: OrderId, orders: OrdersContext) -> OrderDetailOut:
    """One order with its saga's step journal."""
    async with orders.uow(readonly=True) as repo:
        order = await repo.get(order_id)
        if order is None:
            raise OrderNotFound(order_id)
        journal = await repo.journal_of(order_id)
    return OrderDetailOut.of_order(order, journal)


@router.post("/v1/internal/sagas", auth=services({"inventory"}), tags=["internal"],
             priority=Priority.INTERNAL)
async def saga_statuses(body: SagaStatusesIn, orders: OrdersContext) -> SagaStatusesOut:
    """The saga status of each known order asked for (a service token of inventory, which keeps
    a reservation while its saga may still confirm it; not routed by the gateway). A read,
    though sent as POST: safe to retry."""
    async with orders.uow(readonly=True) as repo:
        found = await repo.statuses(body.order_ids)
    return SagaStatusesOut([SagaStatusOut(order_id, status.value)
                            for order_id, status in sorted(found.items())])
