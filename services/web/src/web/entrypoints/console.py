"""The operations console (``/console``): the service map with each service's rate, errors and
latency and its breakers, the sagas in flight and one order's step timeline with its trace
waterfall, the dead letters with replay, the invariant report and the live configuration.

Only for a signed-in admin whose address is on ``WEB_CONSOLE_ALLOW``; anyone else signed in gets
a 403 page, an anonymous visitor the sign-in form. Every read of another service goes through the
service client with the admin's own token, so each service checks the admin role again."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar
from urllib.parse import quote

from chassis.live.admin import ConfigError, Refused
from chassis.messaging.dead_letters import DlqError
from chassis.web import Answer, ClientAddress, Media, Path, Query, Request, Response, Router
from web.adapters.chaos import read_experiments
from web.adapters.console import Console, NotFound, Unavailable
from web.adapters.console_config import live_settings, set_setting
from web.domain.console_access import Access, console_access
from web.domain.waterfall import layout
from web.entrypoints.pages import FORM, HTML, Visit, page, pages, posted, redirect, visit
from web.service.context import WebContext

__all__ = ["router"]

router = Router(tags=["console"], ignore_other_query=True)

FRAGMENT = Media("text/html", "a fragment of a console page (its live part)")
_TO_SIGN_IN = (None, "not signed in: to the sign-in form, then back here")
_PAGES: dict[int, Any] = {200: HTML, 303: _TO_SIGN_IN, 403: HTML, 503: HTML}


def _isotime(seconds: float) -> str:
    return datetime.fromtimestamp(float(seconds), UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"≤ {seconds * 1000:g} ms"


pages.filters.update(isotime=_isotime, ms=_ms)
_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")  # as long as orders takes
OrderId = Annotated[str, Path(max_length=100)]
TraceId = Annotated[str, Path(max_length=64)]
_T = TypeVar("_T")


async def _admin(request: Request, web: WebContext, address: ClientAddress) -> Visit:
    """The admin's visit; anyone else is answered with the sign-in form or the refusal."""
    v = await visit(request, web)
    session = v.session
    access = console_access(signed_in=v.signed_in, roles=session.roles if session else (),
                            address=str(address), networks=web.console_networks)
    if access is Access.SIGN_IN:
        query = request.scope.get("query_string", b"").decode("latin-1")
        target = request.path + (f"?{query}" if query else "")
        raise Answer(redirect(v, "/signin?next=" + _quote(target)))
    if access is Access.REFUSED:
        await v.ensure_session()
        raise Answer(page(v, "console/refused.html", 403))
    return v


def _quote(path: str) -> str:
    return quote(path, safe="/")


def _error(v: Visit, status: int, message: str) -> Response:
    heading = {404: "Not found", 400: "Bad request"}.get(status, "Unavailable right now")
    return page(v, "error.html", status, heading=heading, message=message, back="/console",
                back_label="Back to the console")


async def _admin_page(request: Request, web: WebContext, address: ClientAddress, template: str,
                      read: Callable[[Visit], Awaitable[dict[str, Any]]],
                      unavailable: tuple[type[Exception], ...]) -> Response:
    """``template`` for the admin, with what ``read`` finds (the 503 page when it raises one
    of ``unavailable``)."""
    v = await _admin(request, web, address)
    try:
        context = await read(v)
    except unavailable as exc:
        return _error(v, 503, str(exc))
    return page(v, template, **context)


async def _found(v: Visit, lookup: Awaitable[_T], missing: str) -> _T:
    """What ``lookup`` finds; else the request is answered with a 404 page saying ``missing``,
    or a 503 page when the service that knows is away."""
    try:
        return await lookup
    except NotFound:
        raise Answer(_error(v, 404, missing)) from None
    except Unavailable as exc:
        raise Answer(_error(v, 503, str(exc))) from None


@router.get("/console", responses=_PAGES)
async def overview(request: Request, web: WebContext, console: Console,
                   address: ClientAddress) -> Response:
    """The service map: every instance, its health, version, start and restarts; each
    service's requests, errors and latency over the latest 5 s window, and the breakers."""
    return await _admin_page(request, web, address, "console/overview.html",
                             lambda v: _live(v, console), (Unavailable,))


@router.get("/console/live", responses={200: FRAGMENT, 303: _TO_SIGN_IN, 403: HTML, 503: HTML})
async def overview_live(request: Request, web: WebContext, console: Console,
                        address: ClientAddress) -> Response:
    """The overview's live part alone (console.js refreshes the page with it)."""
    v = await _admin(request, web, address)
    try:
        context = await _live(v, console)
    except Unavailable as exc:
        return _error(v, 503, str(exc))
    html = pages.get_template("console/live.html").render(**context)
    return Response(html.encode(), headers={"Cache-Control": "no-store",
                                            "X-Content-Type-Options": "nosniff"},
                    media_type="text/html; charset=utf-8")


async def _live(v: Visit, console: Console) -> dict[str, Any]:
    instances = await console.instances(v.bearer)
    return {"instances": instances, "red": await console.current_red(instances, v.bearer)}


@router.get("/console/sagas", responses=_PAGES)
async def sagas(request: Request, web: WebContext, console: Console,
                address: ClientAddress) -> Response:
    """The checkout sagas not final yet, and the latest orders."""

    async def read(v: Visit) -> dict[str, Any]:
        in_flight, recent, more = await console.orders(v.bearer)
        return {"in_flight": in_flight, "recent": recent, "more": more}

    return await _admin_page(request, web, address, "console/sagas.html", read,
                             (Unavailable, NotFound))


@router.get("/console/order", responses={
    303: (None, "to that order's page (or, not signed in, to the sign-in form)"),
    400: HTML, 403: HTML})
async def find_order(request: Request, web: WebContext, address: ClientAddress,
                     id: Annotated[str, Query(max_length=200)] = "") -> Response:
    """The lookup form's target: on to that order's page."""
    v = await _admin(request, web, address)
    if not _ID.match(id.strip()):
        return _error(v, 400, "That is not an order id.")
    return redirect(v, f"/console/orders/{id.strip()}")


@router.get("/console/orders/{order_id}", responses={**_PAGES, 404: HTML})
async def order(order_id: OrderId, request: Request, web: WebContext, console: Console,
                address: ClientAddress) -> Response:
    """One order's saga: its step timeline and its trace as a waterfall."""
    v = await _admin(request, web, address)
    if not _ID.match(order_id):
        return _error(v, 404, "No such order.")
    found = await _found(v, console.order(order_id, v.bearer), f"No order {order_id}.")
    traces: list[Any] = []
    waterfall = trace = None
    trace_error = None
    try:
        traces = await console.traces_of_order(order_id, v.bearer)
        if traces:
            trace = await console.trace(str(traces[0]["trace_id"]), v.bearer)
            waterfall = layout(trace.get("tree") or [])
    except (Unavailable, NotFound) as exc:
        trace_error = str(exc)
    return page(v, "console/order.html", order=found, traces=traces, trace=trace,
                waterfall=waterfall, trace_error=trace_error)


@router.get("/console/traces/{trace_id}", responses={**_PAGES, 404: HTML})
async def trace_page(trace_id: TraceId, request: Request, web: WebContext, console: Console,
                     address: ClientAddress) -> Response:
    """One trace as a waterfall."""
    v = await _admin(request, web, address)
    if not re.fullmatch(r"[0-9a-f]{32}", trace_id):
        return _error(v, 404, "No such trace.")
    trace = await _found(v, console.trace(trace_id, v.bearer),
                         f"No trace {trace_id} (the store keeps the recent ones only).")
    return page(v, "console/trace.html", trace=trace, waterfall=layout(trace.get("tree") or []))


@router.get("/console/dead-letters", responses=_PAGES)
async def dead_letters(request: Request, web: WebContext, console: Console,
                       address: ClientAddress,
                       replayed: Annotated[int | None, Query(ge=1)] = None) -> Response:
    """The dead letters (the latest 100), each with a Replay button."""

    async def read(v: Visit) -> dict[str, Any]:
        letters, replays, counts = await console.dead_letters()
        return {"letters": list(reversed(letters)), "counts": counts, "replays": replays,
                "replayed": replayed}

    return await _admin_page(request, web, address, "console/dead_letters.html", read,
                             (Unavailable,))


@router.post("/console/dead-letters/{seq}/replay", body=FORM,
             responses={303: (None, "replayed: back to the dead letters"), 403: HTML,
                        404: HTML, 503: HTML})
async def replay(seq: Annotated[int, Path(ge=1)], request: Request, web: WebContext,
                 console: Console, address: ClientAddress) -> Response:
    """Replay one dead letter to its subject (it stays in the DLQ, marked replayed; if it fails
    again, its consumer dead-letters it anew)."""
    v = await _admin(request, web, address)
    await posted(v)  # the cross-site checks; the form has no other field
    try:
        await console.replay(seq, by=(v.session.email if v.session else None) or "console")
    except DlqError as exc:
        return _error(v, 404, str(exc))
    except Unavailable as exc:
        return _error(v, 503, str(exc))
    return redirect(v, f"/console/dead-letters?replayed={seq}")


@router.get("/console/invariants", responses=_PAGES)
async def invariants(request: Request, web: WebContext, console: Console,
                     address: ClientAddress) -> Response:
    """`souk verify`'s invariant report, on the platform as it is now."""

    async def read(v: Visit) -> dict[str, Any]:
        report = await console.invariants(v.bearer)
        return {"report": report, "violations": report.violations[:200]}

    return await _admin_page(request, web, address, "console/invariants.html", read,
                             (Unavailable, NotFound))


@router.get("/console/chaos", responses=_PAGES)
async def chaos(request: Request, web: WebContext, address: ClientAddress) -> Response:
    """The chaos experiments: what each states and does, and the command that runs it."""
    v = await _admin(request, web, address)
    experiments, unreadable = read_experiments(web.chaos_experiments)
    return page(v, "console/chaos.html", experiments=experiments, unreadable=unreadable,
                folder=web.chaos_experiments)


@router.get("/console/config", responses=_PAGES)
async def config(request: Request, web: WebContext, console: Console, address: ClientAddress,
                 changed: Annotated[str | None, Query(max_length=140)] = None) -> Response:
    """The live configuration in force, per service, and a form to change a setting."""
    v = await _admin(request, web, address)
    return await _config_page(v, console, 200, changed=changed)


async def _config_page(v: Visit, console: Console, status: int, **context: Any) -> Response:
    try:  # the values of instances that run now: one killed leaves its last ones behind
        registered = frozenset(i.instance_id for i in await console.instances(v.bearer))
    except (Unavailable, NotFound):
        registered = None  # every published value, as better than none
    try:
        settings = await live_settings(console.jetstream(), registered)
    except Unavailable as exc:
        return _error(v, 503, str(exc))
    context.setdefault("error", None)
    context.setdefault("changed", None)
    context.setdefault("key", "")
    context.setdefault("value", "")
    return page(v, "console/config.html", status, settings=settings, **context)


@router.post("/console/config", body=FORM, responses={
    303: (None, "written: back to the configuration"), 400: HTML, 403: HTML, 409: HTML,
    503: HTML})
async def set_config(request: Request, web: WebContext, console: Console,
                     address: ClientAddress) -> Response:
    """Set a live setting (`service.setting`, or a platform-wide one): checked against the
    setting's type first (a refused value is not written), audited as this admin."""
    v = await _admin(request, web, address)
    form = await posted(v)
    key, raw = form.get("key").strip(), form.get("value").strip()
    by = (v.session.email if v.session else None) or "console"
    try:
        revision = await set_setting(console.jetstream(), key, raw, by)
    except Refused as exc:
        return await _config_page(v, console, 400, error=str(exc), key=key, value=raw)
    except ConfigError as exc:
        return await _config_page(v, console, 409, error=str(exc), key=key, value=raw)
    except Unavailable as exc:
        return _error(v, 503, str(exc))
    return redirect(v, "/console/config?changed=" + quote(revision.key, safe=""))
