"""Reads the platform through the services' admin APIs for ``souk verify`` and ``souk replay``.

Calls go straight to the instances listed in the state file (never through the gateway, whose
routes and rate limits are not the point here), as the demo admin; never to a database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson

from chassis.invariants import TERMINAL, Json, Snapshot, consumer_backlog, is_settled, outbox_pending
from souk.dlq import count_by_consumer
from souk.state import ProcState, State
from souk.topology import GATEWAY, NATS

__all__ = ["PAGE_SIZE", "AdminClient", "FetchError", "take_snapshot", "wait_until_settled"]

PAGE_SIZE = 1000
TIMEOUT = aiohttp.ClientTimeout(total=30)
MAX_PAGES = 100_000


class FetchError(Exception):
    """A service did not answer as its admin API promises. ``status`` is the HTTP status when
    every instance asked answered with one (a 404 of an id: nothing there), else None."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class AdminClient:
    """GETs and POSTs as the admin to a service's instances, in the state file's order, falling
    over to the next instance when one does not answer; logs in again once on a 401."""

    def __init__(self, session: aiohttp.ClientSession, state: State,
                 log_in: Callable[[], Awaitable[str]]) -> None:
        self._session = session
        self._state = state
        self._log_in = log_in
        self._token: str | None = None
        self._login_lock = asyncio.Lock()

    def runs(self, service: str) -> bool:
        """Whether the topology has ``service`` (with at least one instance wanted)."""
        return self._state.desired.get(service, 0) > 0 or bool(self._state.of_service(service))

    async def _bearer(self, stale: str | None = None) -> str:
        async with self._login_lock:  # one log-in however many calls start at once
            if self._token is None or self._token == stale:
                self._token = await self._log_in()
            return self._token

    async def call(self, method: str, url: str, json: Any = None) -> tuple[int, Any]:
        """(status, parsed JSON body or the start of a non-JSON one)."""
        stale: str | None = None
        for _ in range(2):
            token = await self._bearer(stale)
            headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
            try:
                async with self._session.request(method, url, json=json, headers=headers,
                                                 timeout=TIMEOUT) as response:
                    status, raw = response.status, await response.read()
            except aiohttp.ClientConnectorError:
                raise FetchError(f"{url}: the connection was refused (is it running? "
                                 "souk status)") from None
            except TimeoutError:
                raise FetchError(f"{url}: no answer within {TIMEOUT.total:g} s") from None
            except aiohttp.ClientError as exc:
                raise FetchError(f"{url}: {exc or type(exc).__name__}") from None
            if status == 401 and stale is None:
                stale = token
                continue
            try:
                return status, orjson.loads(raw) if raw else None
            except orjson.JSONDecodeError:
                if 200 <= status < 300:
                    raise FetchError(f"{url}: {status} answer is not JSON") from None
                return status, raw[:200].decode(errors="replace")
        return status, None


    async def request(self, service: str, method: str, path: str, json: Any = None) -> Any:
        """The JSON answer of the first instance of ``service`` that gives a 2xx."""
        procs = sorted(self._state.of_service(service), key=lambda p: not p.ready)
        if not procs:
            raise FetchError(f"no instance of {service} is running")
        errors = []
        answered: int | None = None
        for proc in procs:
            if proc.paused:  # it would hold the read for the whole timeout
                errors.append(f"{proc.instance} not asked{_why(proc)}")
                continue
            try:
                status, body = await self.call(method, proc.url + path, json)
            except FetchError as exc:
                errors.append(f"{proc.instance} {exc}{_why(proc)}")
                answered = None
                continue
            if 200 <= status < 300:
                return body
            errors.append(f"{proc.instance} {method} {path}: {status} {_detail(body)}")
            answered = status
            if status < 500:
                break  # the others would say the same
        raise FetchError("; ".join(errors), answered)

    async def listing(self, service: str, path: str) -> list[Json] | None:
        """Every item of a paged admin listing, or None when ``service`` is not in the topology."""
        if not self.runs(service):
            return None
        items: list[Json] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            query = f"?limit={PAGE_SIZE}" + (f"&cursor={quote(cursor)}" if cursor else "")
            page = await self.request(service, "GET", path + query)
            if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                raise FetchError(f"{service} {path}: not a page of items")
            items.extend(page["items"])
            cursor = page.get("next")
            if cursor is None:
                return items
        raise FetchError(f"{service} {path}: more than {MAX_PAGES} pages")

    async def messaging(self) -> dict[str, list[Json]]:
        """``GET /v1/admin/messaging`` of every instance that has it, by service. An instance
        that does not answer is left out when another of its service did (they share one
        database, so they report the same outbox and dead letters)."""
        # the edge has no messaging of its own: a path it does not serve itself goes to a routed
        # service (its root route: the front end, or none)
        found: dict[str, list[Json]] = {}
        failed: dict[str, str] = {}
        procs = []
        for proc in self._state.processes:
            if proc.service in (NATS, GATEWAY):
                continue
            if proc.paused:  # it would hold the read for the whole timeout
                failed.setdefault(proc.service, f"{proc.instance} not asked{_why(proc)}")
            else:
                procs.append(proc)
        answers = await asyncio.gather(*(self.call("GET", p.url + "/v1/admin/messaging")
                                         for p in procs), return_exceptions=True)
        for proc, answer in zip(procs, answers, strict=True):
            if isinstance(answer, FetchError):
                failed.setdefault(proc.service, f"{proc.instance} {answer}{_why(proc)}")
                continue
            if isinstance(answer, BaseException):
                raise answer
            status, body = answer
            if status == 404:
                continue
            if status != 200 or not isinstance(body, dict):
                failed.setdefault(proc.service, f"{proc.instance} /v1/admin/messaging: "
                                  f"{status} {_detail(body)}")
                continue
            found.setdefault(proc.service, []).append({"instance": proc.instance, **body})
        if unheard := sorted(failed.keys() - found.keys()):
            raise FetchError("; ".join(failed[service] for service in unheard))
        return found


def _why(proc: ProcState) -> str:
    """What the state file says of an instance that did not answer, and what to do."""
    kept = proc.kept_out()
    return f" ({proc.instance} {kept[0]}: {kept[1]})" if kept is not None else ""


async def _all(*reads: Awaitable[Any]) -> list[Any]:
    """The results of ``reads`` run at once; when one fails, the others are waited for (not
    left running past the command's end, where a late failure printed a traceback) and the
    first failure is raised."""
    results = await asyncio.gather(*reads, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return results


def _detail(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or "")
    return str(body or "")


async def take_snapshot(client: AdminClient, nats_url: str) -> Snapshot:
    """Everything the invariants look at, read concurrently."""
    listings = await _all(
        client.listing("orders", "/v1/admin/orders"),
        client.listing("inventory", "/v1/admin/stock"),
        client.listing("inventory", "/v1/admin/reservations"),
        client.listing("payments", "/v1/admin/payments"),
        client.listing("notifications", "/v1/admin/notifications"))
    messaging, dlq = await _all(client.messaging(), count_by_consumer(nats_url))
    orders, stock, reservations, payments, notifications = listings
    return Snapshot(orders=orders, stock=stock, reservations=reservations, payments=payments,
                    notifications=notifications, messaging=messaging, dlq=dlq)


async def wait_until_settled(client: AdminClient, wait: float,
                          progress: Callable[[str], None]) -> None:
    """Poll orders and messaging until every order is terminal, every outbox empty and every
    consumer caught up, or until ``wait`` seconds pass (a service not answering meanwhile
    counts as not settled yet; a read still waiting for one when the time is up is given up)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        try:
            orders, messaging = await asyncio.wait_for(
                _all(client.listing("orders", "/v1/admin/orders"), client.messaging()),
                max(deadline - loop.time(), 0.5))
            partial = Snapshot(orders=orders, messaging=messaging)
            if is_settled(partial):
                return
            open_orders = sum(1 for o in orders or [] if o.get("status") not in TERMINAL)
            note = (f"{open_orders} orders not terminal, {outbox_pending(partial)} outbox rows "
                    f"pending, {consumer_backlog(partial)} messages not yet consumed")
        except FetchError as exc:
            note = f"not answering yet: {exc}"
        except TimeoutError:
            note = "no answer within the wait"
        remaining = deadline - loop.time()
        if remaining <= 0:
            progress(f"gave up waiting: {note}")
            return
        progress(f"{note} ({remaining:.0f} s left)")
        await asyncio.sleep(min(1.0, remaining))
