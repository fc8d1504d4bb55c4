"""What the operations console reads and does, through the chassis: every call to another
service through the service client on the signed-in admin's behalf (each service checks the
admin role itself), the dead letters over the web service's own broker connection.

Rates need two scrapes: the last scrape of each instance is kept here (in this process's
memory), and each look at the console compares the new scrape with it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from nats.errors import Error as NatsError

from chassis.broker import Broker
from chassis.http import ServiceCallError, ServiceClient, UpstreamError
from chassis.invariants import Json, Report, Snapshot, check
from chassis.messaging import dead_letters as dlq
from web.domain.red import Breaker, Red, Scrape, parse_scrape, red_between

__all__ = ["BROKER_ERRORS", "MAX_ORDER_PAGES", "Console", "Instance", "NotFound", "ServiceRed", "Unavailable"]

REGISTRY = "registry"
ORDERS = "orders"
TELEMETRY = "telemetry"
TERMINAL = frozenset({"CONFIRMED", "CANCELLED"})
ORDER_PAGE = 1000
MAX_ORDER_PAGES = 20  # the console reads at most this many pages of orders (oldest first)
MAX_LISTING_PAGES = 50  # per admin listing of the invariant report
SCRAPE_TIMEOUT = 2.0
MAX_SCRAPE_AGE = 300.0  # seconds: an older previous scrape is no base for a rate
SCRAPE_EVERY = 5.0  # seconds between two background rounds while the console is watched
WATCH_FOR = 120.0  # seconds the rounds go on after the last look at a console page


# what a JetStream call may raise when NATS cannot answer (an API error, a timeout, a lost
# connection): the page says the broker is unavailable
BROKER_ERRORS = (TimeoutError, ConnectionError, NatsError)


class Unavailable(Exception):
    """An upstream (or the broker) did not answer: the page says so (503)."""


class NotFound(Exception):
    """The upstream knows no such thing (404)."""


@dataclass(frozen=True, slots=True)
class Instance:
    instance_id: str
    service: str
    url: str
    status: str
    version: str
    started_at: float | None
    registered_at: float
    last_heartbeat: float
    restarts: int | None

    @classmethod
    def of(cls, doc: Json) -> Instance:
        meta = doc.get("metadata") or {}
        started = meta.get("started_at")
        try:
            started_at = float(started) if started else None
        except ValueError:
            started_at = None
        restarts = doc.get("restarts")
        return cls(str(doc["instance_id"]), str(doc["service"]), str(doc["url"]),
                   str(doc["status"]), str(meta.get("version", "")), started_at,
                   float(doc["registered_at"]), float(doc["last_heartbeat"]),
                   int(restarts) if isinstance(restarts, int) else None)


@dataclass(frozen=True, slots=True)
class ServiceRed:
    service: str
    red: Red | None  # None: no earlier scrape to compare with yet
    scraped: int  # instances that answered
    breakers: tuple[Breaker, ...] = ()
    failed: list[str] = field(default_factory=list)


def _pin(inst: Instance) -> str | None:
    """The instance id to pin a call to; none for the registry, which is reached at its
    configured address (it is not listed in itself)."""
    return None if inst.service == REGISTRY else inst.instance_id


def _problem(service: str, exc: ServiceCallError) -> Exception:
    # a lookup the service refuses (not one of its ids: 400, 422) finds nothing, as a 404: it
    # is not the service being away, which the console counts among its errors
    if isinstance(exc, UpstreamError) and exc.status in (400, 404, 422):
        return NotFound(f"{service}: not found")
    return Unavailable(f"{service} did not answer: {exc}")


class Console:
    def __init__(self, client: ServiceClient, broker: Broker | None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._broker = broker
        self._clock = clock
        self._scrapes: dict[str, Scrape] = {}
        self._watched_until = float("-inf")
        self._red: list[ServiceRed] | None = None

    async def _get(self, service: str, path: str, bearer: str | None, **kwargs: Any) -> Any:
        try:
            response = await self._client.get(service, path, on_behalf_of=bearer, **kwargs)
        except ServiceCallError as exc:
            raise _problem(service, exc) from None
        return response.json()

    # the service map ---------------------------------------------------------------------

    async def instances(self, bearer: str | None) -> list[Instance]:
        """Every registered instance (passing or not), by service then id: the registry's
        whole directory in one call (its watch, answering at once to a caller with no view)."""
        snapshot = await self._get(REGISTRY, "/v1/watch?timeout=0", bearer)
        found = [Instance.of(doc) for doc in snapshot.get("instances", [])]
        return sorted(found, key=lambda i: (i.service, i.instance_id))

    # RED -------------------------------------------------------------------------------

    async def _scrape(self, inst: Instance, bearer: str | None) -> Scrape | str:
        try:
            response = await self._client.get(inst.service, "/metrics", on_behalf_of=bearer,
                                              instance=_pin(inst), timeout=SCRAPE_TIMEOUT,
                                              headers={"Accept": "text/plain"})
            return parse_scrape(response.body.decode("utf-8", "replace"), self._clock())
        except ServiceCallError as exc:
            return f"{inst.instance_id}: {type(exc).__name__}"
        except ValueError:
            return f"{inst.instance_id}: not Prometheus text"

    def watched(self) -> None:
        """A console page was looked at: keep the RED current for the next WATCH_FOR s."""
        self._watched_until = self._clock() + WATCH_FOR

    async def current_red(self, instances: list[Instance], bearer: str) -> list[ServiceRed]:
        """The RED of the latest background round; the first look after the console was left
        alone scrapes now (a baseline: its rates come with the next round)."""
        self.watched()
        if self._red is None:
            self._red = await self.red(instances, bearer)
        return self._red

    async def refresh(self) -> None:
        """One background round (every SCRAPE_EVERY s): while someone watches the console,
        scrape every passing instance (with the web service's own token); after that, forget
        the scrapes, so a later look starts afresh rather than from a stale baseline."""
        if self._clock() > self._watched_until:
            self._red = None
            self._scrapes.clear()
            return
        self._red = await self.red(await self.instances(None), None)

    async def red(self, instances: list[Instance], bearer: str | None) -> list[ServiceRed]:
        """Each service's RED since the previous scrape (scrapes every passing instance now)."""
        passing = [i for i in instances if i.status == "passing"]
        scrapes = await asyncio.gather(*(self._scrape(i, bearer) for i in passing))
        by_service: dict[str, list[tuple[Instance, Scrape | str]]] = {}
        for inst, scrape in zip(passing, scrapes, strict=True):
            by_service.setdefault(inst.service, []).append((inst, scrape))
        now = self._clock()
        out = []
        for service, found in sorted(by_service.items()):
            pairs: list[tuple[Scrape, Scrape]] = []
            breakers: list[Breaker] = []
            failed: list[str] = []
            for inst, scrape in found:
                if isinstance(scrape, str):
                    failed.append(scrape)
                    continue
                breakers.extend(scrape.breakers)
                before = self._scrapes.get(inst.instance_id)
                if before is not None and now - before.at <= MAX_SCRAPE_AGE:
                    pairs.append((before, scrape))
                self._scrapes[inst.instance_id] = scrape
            out.append(ServiceRed(service, red_between(pairs), len(found) - len(failed),
                                  tuple(breakers), failed))
        return out

    # sagas and traces ------------------------------------------------------------------

    async def orders(self, bearer: str) -> tuple[list[Json], list[Json], bool]:
        """(orders not final yet, the most recent orders (newest first, 20), whether there were
        more orders than the console reads)."""
        seen: list[Json] = []
        cursor: str | None = None
        for _ in range(MAX_ORDER_PAGES):
            query = f"?limit={ORDER_PAGE}" + (f"&cursor={quote(cursor)}" if cursor else "")
            page = await self._get(ORDERS, "/v1/admin/orders" + query, bearer)
            seen.extend(page.get("items", []))
            cursor = page.get("next")
            if cursor is None:
                break
        in_flight = [o for o in seen if o.get("status") not in TERMINAL]
        recent = sorted(seen, key=lambda o: float(o.get("created_at", 0)), reverse=True)[:20]
        return in_flight[-100:], recent, cursor is not None

    async def order(self, order_id: str, bearer: str) -> Json:
        return dict(await self._get(ORDERS, f"/v1/admin/orders/{quote(order_id, safe='')}",
                                    bearer))

    async def traces_of_order(self, order_id: str, bearer: str) -> list[Json]:
        page = await self._get(TELEMETRY, f"/v1/traces?order_id={quote(order_id, safe='')}"
                                          "&limit=20", bearer)
        return list(page.get("items", []))

    async def trace(self, trace_id: str, bearer: str) -> Json:
        return dict(await self._get(TELEMETRY, f"/v1/traces/{quote(trace_id, safe='')}", bearer))

    # dead letters ------------------------------------------------------------------------

    def jetstream(self) -> Any:
        """The broker's JetStream context (Unavailable when the broker is away)."""
        if self._broker is None:
            raise Unavailable("the web service has no broker configured")
        try:
            return self._broker.jetstream()
        except ConnectionError:
            raise Unavailable("the broker (NATS) is not reachable right now") from None

    async def dead_letters(self, limit: int = 100) -> tuple[
            list[dlq.DeadLetter], dict[int, dlq.ReplayRecord], dict[str, int]]:
        """The latest ``limit`` dead letters, the replays of those that were, the count per
        consumer."""
        js = self.jetstream()
        try:
            letters = [letter async for letter in dlq.dead_letters(js)][-limit:]
            replayed = await dlq.replays(js, [letter.seq for letter in letters])
            counts = await dlq.count_by_consumer(js)
        except BROKER_ERRORS as exc:
            raise Unavailable(f"the broker did not answer: {exc}") from None
        return letters, replayed, counts

    async def replay(self, seq: int, by: str) -> dlq.Replayed:
        """Replay one dead letter (raises DlqError when it is not there)."""
        try:
            return (await dlq.replay(self.jetstream(), [seq], by=by))[0]
        except BROKER_ERRORS as exc:
            raise Unavailable(f"the broker did not answer: {exc}") from None

    # the invariants ----------------------------------------------------------------------

    async def _listing(self, service: str, path: str, bearer: str,
                       running: set[str]) -> list[Json] | None:
        if service not in running:
            return None
        items: list[Json] = []
        cursor: str | None = None
        for _ in range(MAX_LISTING_PAGES):
            query = "?limit=1000" + (f"&cursor={quote(cursor)}" if cursor else "")
            page = await self._get(service, path + query, bearer)
            items.extend(page.get("items", []))
            cursor = page.get("next")
            if cursor is None:
                return items
        raise Unavailable(f"{service} {path}: more than {MAX_LISTING_PAGES} pages; "
                          "use `souk verify` for a platform this large")

    async def _messaging(self, instances: list[Instance], bearer: str) -> dict[str, list[Json]]:
        async def one(inst: Instance) -> Json | None:
            try:
                response = await self._client.get(inst.service, "/v1/admin/messaging",
                                                  on_behalf_of=bearer, instance=_pin(inst))
            except UpstreamError as exc:
                if exc.status == 404:
                    return None
                raise _problem(inst.service, exc) from None
            except ServiceCallError as exc:
                raise _problem(inst.service, exc) from None
            body = response.json()
            return {"instance": inst.instance_id, **body} if isinstance(body, dict) else None

        passing = [i for i in instances if i.status == "passing" and i.service != "gateway"]
        answers = await asyncio.gather(*(one(i) for i in passing))
        found: dict[str, list[Json]] = {}
        for inst, answer in zip(passing, answers, strict=True):
            if answer is not None:
                found.setdefault(inst.service, []).append(answer)
        return found

    async def invariants(self, bearer: str) -> Report:
        """`souk verify`'s report, over a snapshot read through the admin APIs now (no waiting
        for the platform to settle: an order in flight is reported as such)."""
        instances = await self.instances(bearer)
        running = {i.service for i in instances}
        listings = await asyncio.gather(
            self._listing("orders", "/v1/admin/orders", bearer, running),
            self._listing("inventory", "/v1/admin/stock", bearer, running),
            self._listing("inventory", "/v1/admin/reservations", bearer, running),
            self._listing("payments", "/v1/admin/payments", bearer, running),
            self._listing("notifications", "/v1/admin/notifications", bearer, running))
        messaging = await self._messaging(instances, bearer)
        try:
            counts: dict[str, int] | None = await dlq.count_by_consumer(self.jetstream())
        except (Unavailable, *BROKER_ERRORS):
            counts = None
        orders, stock, reservations, payments, notifications = listings
        return check(Snapshot(orders=orders, stock=stock, reservations=reservations,
                              payments=payments, notifications=notifications,
                              messaging=messaging, dlq=counts))
