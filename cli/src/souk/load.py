"""The checkout workload of ``souk load`` (and of the benchmarks, which import ``run_load``).

``concurrency`` users (no more than ``checkouts``: a user beyond them would never check out, and
each sign-up costs identity a password hash) are signed up and logged in straight at identity
(the gateway limits log-ins to a few a minute); then one worker per user runs checkouts through
the gateway until
``checkouts`` have been started: fill the cart with ``lines`` SKUs in one ``PUT /api/v1/cart``
(which replaces whatever it held; none of the previous order's SKUs, whose lines the cart clears
when that order's confirmation arrives), ``POST /api/v1/orders`` with an ``Idempotency-Key`` and
``Prefer: wait=30``, then poll the order every 50 ms until it is CONFIRMED or CANCELLED. A
checkout's latency runs from sending the POST to seeing the terminal state.

Like a real client, a worker sends a request again when it got no answer (connection refused or
reset, timeout) or a 502/503/504 — an instance killed and being restarted — with the same
``Idempotency-Key`` for the POST, so a repeat cannot place a second order: full-jitter backoff,
or the answer's ``Retry-After`` when longer (an open breaker says when to come back), at most
:class:`Retry` ``attempts`` over ``within`` seconds. A checkout that needed a retry is
counted ``retried`` (and confirmed or cancelled as it ended); one that still got no answer, a
4xx, or no terminal state within 60 s is ``failed``.

The checkouts' requests go through the chassis's lean HTTP/1.1 client (keep-alive connections,
one write per request): the load generator shares the machine with the platform it measures, and
through aiohttp it cost about a third of a millisecond of CPU per checkout here.
"""

from __future__ import annotations

import asyncio
import math
import random
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from chassis.http import ConnectFailed, H1Transport, RawResponse, SendFailed

__all__ = ["LoadError", "LoadProgress", "LoadResult", "Retry", "percentile", "run_load"]

TERMINAL = frozenset({"CONFIRMED", "CANCELLED"})
CHECKOUT_DEADLINE = 60.0
POLL_INTERVAL = 0.05
KEPT_ERRORS = 5
SIGN_UP_CONCURRENCY = 8  # argon2id hashing is what limits sign-ups; more in flight gains nothing
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=45)
REQUEST_SECONDS = 45.0
RETRY_STATUSES = frozenset({502, 503, 504})


class LoadError(Exception):
    """The workload could not start (no users, no products)."""


class _Failed(Exception):
    pass


# what fails one checkout (the run goes on)
_CHECKOUT_ERRORS = (_Failed, ConnectFailed, SendFailed, TimeoutError)
# no answer: the request is sent again
_NO_ANSWER = (ConnectFailed, SendFailed, TimeoutError)


@dataclass(frozen=True)
class Retry:
    """How a worker repeats a request that got no answer or a 502/503/504: at most ``attempts``
    sends within ``within`` seconds of the first, waiting up to ``base * 2**n`` (at most
    ``cap``) seconds before each repeat, or the answer's ``Retry-After`` when that is longer —
    long enough to ride out a restarted instance and the gateway's breaker on it."""

    attempts: int = 10
    within: float = 30.0
    base: float = 0.1
    cap: float = 2.0


def percentile(sorted_values: list[float], p: float) -> float:
    """The nearest-rank ``p``-th percentile (0 for no values)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class LoadProgress:
    """Where the run is; handed to the ``progress`` callback after every checkout."""

    total: int
    started: int = 0
    confirmed: int = 0
    cancelled: int = 0
    failed: int = 0
    retried: int = 0  # checkouts that needed a request sent again (also confirmed or cancelled)
    retries: int = 0  # requests sent again
    began: float = field(default_factory=time.monotonic)

    @property
    def done(self) -> int:
        return self.confirmed + self.cancelled + self.failed

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.began

    @property
    def per_second(self) -> float:
        elapsed = self.elapsed
        return (self.confirmed + self.cancelled) / elapsed if elapsed > 0 else 0.0


@dataclass(frozen=True)
class LoadResult:
    checkouts: int
    confirmed: int
    cancelled: int
    failed: int
    elapsed_s: float
    latencies_ms: list[float]  # sorted, of the checkouts that reached a terminal state
    errors: list[str]  # the first few failures
    retried: int = 0  # checkouts that needed a request sent again
    retries: int = 0  # requests sent again

    @property
    def per_second(self) -> float:
        return (self.confirmed + self.cancelled) / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def latency(self, p: float) -> float:
        return percentile(self.latencies_ms, p)

    def as_json(self) -> dict[str, Any]:
        return {"checkouts": self.checkouts, "confirmed": self.confirmed,
                "cancelled": self.cancelled, "failed": self.failed,
                "retried": self.retried, "retries": self.retries,
                "per_second": round(self.per_second, 1),
                "latency_ms": {f"p{p}": round(self.latency(p), 1) for p in (50, 95, 99)},
                "errors": list(self.errors)}


async def _json(response: aiohttp.ClientResponse) -> Any:
    raw = await response.read()
    try:
        return orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        return raw[:300].decode(errors="replace")


async def _expect(response: aiohttp.ClientResponse, what: str) -> Any:
    body = await _json(response)
    if not 200 <= response.status < 300:
        text = body if isinstance(body, str) else orjson.dumps(body).decode()
        raise _Failed(f"{what}: {response.status} {text[:300]}")
    return body


def _expect_raw(response: RawResponse, what: str) -> Any:
    raw = response.body
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        body = raw[:300].decode(errors="replace")
    if not 200 <= response.status < 300:
        text = body if isinstance(body, str) else orjson.dumps(body).decode()
        raise _Failed(f"{what}: {response.status} {text[:300]}")
    return body


def _retry_after(response: RawResponse) -> float:
    """The answer's ``Retry-After`` in seconds (0 when absent or an HTTP date)."""
    try:
        return max(0.0, float(response.headers.get("retry-after", "0")))
    except ValueError:
        return 0.0


async def _create_user(session: aiohttp.ClientSession, identity_url: str,
                       limit: asyncio.Semaphore) -> str:
    credentials = {"email": f"load-{secrets.token_hex(8)}@souk.local",
                   "password": secrets.token_urlsafe(18)}
    async with limit:
        async with session.post(f"{identity_url}/v1/signup", json=credentials) as response:
            await _expect(response, "sign-up")
        async with session.post(f"{identity_url}/v1/login", json=credentials) as response:
            body = await _expect(response, "log-in")
    if not isinstance(body, dict) or "access_token" not in body:
        raise _Failed("log-in: no access_token in the answer")
    return str(body["access_token"])


async def _skus(session: aiohttp.ClientSession, gateway_url: str) -> list[str]:
    async with session.get(f"{gateway_url}/api/v1/catalog/products?limit=100") as response:
        body = await _expect(response, "catalog")
    items = body.get("items", []) if isinstance(body, dict) else []
    return [str(item["sku"]) for item in items if isinstance(item, dict) and "sku" in item]


@dataclass
class _Worker:
    http: H1Transport
    gateway: str
    token: str
    skus: list[str]
    lines: int
    decline_rate: float
    rng: random.Random
    retry: Retry
    previous: set[str] = field(default_factory=set)
    retries: int = 0  # of the current checkout

    async def _send(self, method: str, url: str, headers: dict[str, str], body: bytes | None,
                    what: str) -> Any:
        """The request's JSON answer, sent again as :class:`Retry` says while there is none."""
        first = time.monotonic()
        for attempt in range(1, self.retry.attempts + 1):
            told = 0.0
            try:
                response = await self.http.send(method, url, headers=headers, body=body,
                                                timeout=REQUEST_SECONDS)
            except _NO_ANSWER:
                if not self._again(attempt, first):
                    raise
            else:
                if response.status not in RETRY_STATUSES or not self._again(attempt, first):
                    return _expect_raw(response, what)
                told = _retry_after(response)
            jitter = self.rng.random() * min(self.retry.cap, self.retry.base * 2.0 ** attempt)
            left = self.retry.within - (time.monotonic() - first)
            await asyncio.sleep(max(0.0, min(max(jitter, told), left)))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _again(self, attempt: int, first: float) -> bool:
        if attempt >= self.retry.attempts or time.monotonic() - first >= self.retry.within:
            return False
        self.retries += 1
        return True

    def _pick(self) -> list[str]:
        """``lines`` distinct SKUs, those of the previous order only when too few others."""
        fresh = [sku for sku in self.skus if sku not in self.previous]
        chosen = self.rng.sample(fresh, min(self.lines, len(fresh)))
        if len(chosen) < self.lines:
            again = sorted(self.previous)
            chosen += self.rng.sample(again, min(self.lines - len(chosen), len(again)))
        return chosen

    async def checkout(self) -> tuple[float, str]:
        """One checkout: its latency in seconds and terminal status (raises one of
        ``_CHECKOUT_ERRORS``)."""
        auth = {"authorization": f"Bearer {self.token}"}
        json_auth = {**auth, "content-type": "application/json"}
        api = f"{self.gateway}/api/v1"
        chosen = self._pick()
        items = [{"sku": sku, "quantity": self.rng.randint(1, 2)} for sku in chosen]
        self.retries = 0
        await self._send("PUT", f"{api}/cart", json_auth, orjson.dumps({"items": items}),
                         "PUT /cart")
        self.previous = set(chosen)
        card = "tok_decline" if self.rng.random() < self.decline_rate else "tok_visa"
        sent = time.monotonic()
        order = await self._send(
            "POST", f"{api}/orders",
            {**json_auth, "idempotency-key": str(uuid.uuid4()), "prefer": "wait=30"},
            orjson.dumps({"card_token": card}), "POST /orders")
        if not isinstance(order, dict) or "id" not in order:
            raise _Failed("POST /orders: the answer is not an order")
        while order.get("status") not in TERMINAL:
            if time.monotonic() - sent > CHECKOUT_DEADLINE:
                raise _Failed(f"order {order['id']} still {order.get('status')} after "
                              f"{CHECKOUT_DEADLINE:.0f} s")
            await asyncio.sleep(POLL_INTERVAL)
            order = await self._send("GET", f"{api}/orders/{order['id']}", auth, None,
                                     f"GET /orders/{order['id']}")
        return time.monotonic() - sent, str(order["status"])


async def run_load(gateway_url: str, identity_url: str, checkouts: int, concurrency: int,
                   decline_rate: float, lines: int = 1,
                   progress: Callable[[LoadProgress], None] | None = None,
                   retry: Retry = Retry(),
                   enough: Callable[[], bool] | None = None) -> LoadResult:
    """Run ``checkouts`` checkouts with ``concurrency`` users at once; see the module doc.
    Once ``enough()`` answers True no checkout is started any more (those under way finish)."""
    gateway_url, identity_url = gateway_url.rstrip("/"), identity_url.rstrip("/")
    connector = aiohttp.TCPConnector(limit=concurrency + 8)
    async with aiohttp.ClientSession(connector=connector, timeout=REQUEST_TIMEOUT) as session:
        try:
            limit = asyncio.Semaphore(SIGN_UP_CONCURRENCY)
            tokens = await asyncio.gather(*(_create_user(session, identity_url, limit)
                                            for _ in range(min(concurrency, checkouts))))
            skus = await _skus(session, gateway_url)
        except (_Failed, aiohttp.ClientError, TimeoutError) as exc:
            raise LoadError(str(exc) or type(exc).__name__) from None
        if not skus:
            raise LoadError("the catalog lists no products")
        state = LoadProgress(total=checkouts)
        latencies: list[float] = []
        errors: list[str] = []

        http = H1Transport(limit=concurrency + 8, keepalive=60.0)

        async def work(token: str) -> None:
            rng = random.Random()  # noqa: S311 - picks a workload, guards no secret
            worker = _Worker(http, gateway_url, token, skus, lines, decline_rate, rng, retry)
            while state.started < checkouts and not (enough is not None and enough()):
                state.started += 1
                try:
                    latency, status = await worker.checkout()
                except _CHECKOUT_ERRORS as exc:
                    state.retries += worker.retries
                    state.failed += 1
                    if len(errors) < KEPT_ERRORS:
                        errors.append(str(exc) or type(exc).__name__)
                else:
                    state.retries += worker.retries
                    state.retried += worker.retries > 0
                    latencies.append(latency * 1000)
                    if status == "CONFIRMED":
                        state.confirmed += 1
                    else:
                        state.cancelled += 1
                if progress is not None:
                    progress(state)

        state.began = time.monotonic()
        try:
            await asyncio.gather(*(work(token) for token in tokens))
        finally:
            await http.close()
        elapsed = state.elapsed
    return LoadResult(checkouts=state.started, confirmed=state.confirmed,
                      cancelled=state.cancelled, failed=state.failed, elapsed_s=elapsed,
                      latencies_ms=sorted(latencies), errors=errors, retried=state.retried,
                      retries=state.retries)
