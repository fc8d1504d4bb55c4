"""Overload protection: offered twice what it can do, the platform keeps its goodput and sheds the
rest fast — measured against the same platform's capacity in the same run.

Starts the whole platform twice (`souk up` of the repository's souk.toml, on a free gateway port,
in a temporary home), signs up a pool of users whose carts are filled, and measures a checkout
(`POST /api/v1/orders` with `Prefer: wait`, until the order is terminal) three ways on each:

1. unloaded: one checkout at a time — the latency baseline W0;
2. capacity: a closed loop of `--concurrency` users — peak checkouts/s X;
3. overload: an open loop at `--factor` x the capacity (fixed arrival rate, whatever the
   answers; `--seconds` of arrivals, so a bounded count), no client retries. Reported: goodput
   (confirmed checkouts/s) against the capacity (goal >= 80 %), rejections (429/503) and the
   p99 of their answers (goal <= 50 ms), latency p50/p99 of the admitted checkouts against the
   unloaded ones (goal <= 2x).

The first platform runs without the protection (`max_concurrency = 0` in every service, no
outstanding cap at the gateway): its capacity is the platform's, and what overload does to it
unprotected is the comparison. The second runs protected, offered the same rate, with orders'
`max_concurrency` sized by Little's law from the first platform's figures — the checkouts in
flight at peak throughput with twice the unloaded latency, L = X x 2 W0, over the share of the
limit an order gets — unless `--limit` says otherwise (`--limit -1`: as shipped).

An arrival that finds every user of the pool busy with a checkout is not sent and is counted as
such. A user's cart is filled again after each confirmed checkout, off the measured path (a
refused shopper keeps the cart and comes back later, so cart work follows the goodput, not the
offered load).

    .venv/bin/python bench/overload.py [--seconds 10] [--factor 2] [--users 300]
                                       [--concurrency 16] [--limit N] [--env K=V ...]

The load generator shares the 2 cores with the platform, as it would on a laptop; the figures are
as noisy as the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import orjson

sys.path.insert(0, str(Path(__file__).parent))
from _load import ROOT, cpu_of, free_port, own_cpu, running_platform

from chassis.http import ConnectFailed, H1Transport, RawResponse, SendFailed
from chassis.web.admission import SHARES, Priority
from souk.load import _create_user, _skus, percentile

SERVICES = ("registry", "identity", "catalog", "cart", "inventory", "orders", "payments",
            "notifications", "analytics", "telemetry")
REJECTED = frozenset({429, 503})
LOADGEN = "load generator"
REQUEST_SECONDS = 30.0
TERMINAL = frozenset({"CONFIRMED", "CANCELLED"})


def topology(gateway_port: int) -> str:
    text = (ROOT / "souk.toml").read_text()
    text = text.replace("gateway_port = 8080", f"gateway_port = {gateway_port}")
    # the benchmark's users each send many requests a second: the per-user rate limit is not
    # what is measured here
    return text.replace('[services.gateway]\ninstances = 1\ndatabase = false',
                        '[services.gateway]\ninstances = 1\ndatabase = false\n'
                        'env = { GATEWAY_RATE_LIMIT = "1000000/minute" }')


def protection_env(on: bool) -> dict[str, str]:
    """The environment that turns the protection off (empty: the shipped defaults)."""
    if on:
        return {}
    env: dict[str, str] = {f"{name.upper()}_MAX_CONCURRENCY": "0" for name in SERVICES}
    env["GATEWAY_MAX_OUTSTANDING_PER_INSTANCE"] = "0"
    return env


class Rejected(Exception):
    def __init__(self, status: int, kind: str, seconds: float) -> None:
        super().__init__(f"rejected with {status} {kind}")
        self.kind = f"{status} {kind}"
        self.seconds = seconds


class Failed(Exception):
    pass


@dataclass
class Outcomes:
    ok: list[float] = field(default_factory=list)  # latencies (s) of confirmed checkouts
    cancelled: int = 0
    rejected: list[float] = field(default_factory=list)  # latencies (s) of the 429/503 answers
    statuses: dict[str, int] = field(default_factory=dict)  # "503 overloaded": how many
    failed: int = 0
    errors: list[str] = field(default_factory=list)
    not_sent: int = 0  # arrivals that found every user busy


@dataclass
class User:
    token: str
    sku: str = ""  # in the cart


class Shop:
    """Checkouts over the chassis's lean HTTP/1.1 client, one user per checkout in flight."""

    def __init__(self, gateway: str, tokens: list[str], skus: list[str]) -> None:
        self.api = gateway.rstrip("/") + "/api/v1"
        self.free: asyncio.Queue[User] = asyncio.Queue()
        self.users = [User(token) for token in tokens]
        self.skus = skus
        self.rng = random.Random(7)
        self.http = H1Transport(limit=len(tokens) + 8, keepalive=60.0)

    @classmethod
    async def for_new_users(cls, gateway: str, identity: str, users: int) -> Shop:
        """A shop for ``users`` customers signed up now, over the catalog's SKUs."""
        async with aiohttp.ClientSession() as session:
            limit = asyncio.Semaphore(8)
            tokens = list(await asyncio.gather(*(_create_user(session, identity, limit)
                                                 for _ in range(users))))
            skus = await _skus(session, gateway)
        return cls(gateway, tokens, skus)

    async def _send(self, method: str, url: str, headers: dict[str, str],
                    body: bytes | None) -> RawResponse:
        started = time.perf_counter()
        try:
            response = await self.http.send(method, url, headers=headers, body=body,
                                            timeout=REQUEST_SECONDS)
        except (ConnectFailed, SendFailed, TimeoutError) as exc:
            raise Failed(f"{method} {url}: {type(exc).__name__}") from None
        if response.status in REJECTED:
            try:
                kind = str(orjson.loads(response.body).get("type", "")).rpartition("problems/")[2]
            except (orjson.JSONDecodeError, AttributeError):
                kind = "?"
            raise Rejected(response.status, kind, time.perf_counter() - started)
        if not 200 <= response.status < 300:
            raise Failed(f"{method} {url}: {response.status} {response.body[:200]!r}")
        return response

    async def fill_cart(self, user: User) -> None:
        """One SKU other than the last order's (whose lines the cart clears when that order's
        confirmation reaches it)."""
        sku = self.rng.choice([s for s in self.skus if s != user.sku])
        await self._send("PUT", f"{self.api}/cart", {"authorization": f"Bearer {user.token}",
                                                     "content-type": "application/json"},
                         orjson.dumps({"items": [{"sku": sku, "quantity": 1}]}))
        user.sku = sku

    async def start(self) -> None:
        for user in self.users:
            await self.fill_cart(user)
            self.free.put_nowait(user)

    async def checkout(self, user: User) -> tuple[float, str]:
        """(seconds from the POST to the terminal state, that state)."""
        auth = {"authorization": f"Bearer {user.token}"}
        json_auth = {**auth, "content-type": "application/json"}
        started = time.perf_counter()
        answer = await self._send(
            "POST", f"{self.api}/orders",
            {**json_auth, "idempotency-key": str(uuid.uuid4()), "prefer": "wait=20"},
            orjson.dumps({"card_token": "tok_visa"}))
        order = orjson.loads(answer.body)
        while order.get("status") not in TERMINAL:
            if time.perf_counter() - started > REQUEST_SECONDS:
                raise Failed(f"order still {order.get('status')}")
            await asyncio.sleep(0.05)
            order = orjson.loads((await self._send(
                "GET", f"{self.api}/orders/{order['id']}", auth, None)).body)
        return time.perf_counter() - started, str(order["status"])

    async def one(self, out: Outcomes, user: User) -> None:
        refill = False
        try:
            seconds, status = await self.checkout(user)
        except Rejected as exc:
            out.rejected.append(exc.seconds)
            out.statuses[exc.kind] = out.statuses.get(exc.kind, 0) + 1
        except Failed as exc:
            out.failed += 1
            if len(out.errors) < 3:
                out.errors.append(str(exc))
        else:
            refill = True
            if status == "CONFIRMED":
                out.ok.append(seconds)
            else:
                out.cancelled += 1
        try:
            if refill:
                await self.fill_cart(user)
        except (Rejected, Failed):
            return  # this user leaves the pool
        self.free.put_nowait(user)

    async def closed_loop(self, concurrency: int, seconds: float) -> tuple[Outcomes, float]:
        out = Outcomes()
        stop = time.perf_counter() + seconds

        async def user() -> None:
            while time.perf_counter() < stop:
                refused = len(out.rejected)
                await self.one(out, await self.free.get())
                if len(out.rejected) > refused:  # a short pause: no busy loop of refusals
                    await asyncio.sleep(0.01)

        began = time.perf_counter()
        await asyncio.gather(*(user() for _ in range(concurrency)))
        return out, time.perf_counter() - began

    async def open_loop(self, rate: float, seconds: float) -> tuple[Outcomes, float]:
        out = Outcomes()
        count = int(rate * seconds)
        tasks: list[asyncio.Task[None]] = []
        began = time.perf_counter()
        for n in range(count):  # arrivals at fixed times, whatever the answers
            delay = began + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                user = self.free.get_nowait()
            except asyncio.QueueEmpty:
                out.not_sent += 1
                continue
            tasks.append(asyncio.create_task(self.one(out, user)))
        await asyncio.gather(*tasks)
        return out, time.perf_counter() - began

    async def close(self) -> None:
        await self.http.close()


def ms(values: list[float], p: float) -> float:
    return percentile(sorted(values), p) * 1000 if values else float("nan")


def cpu(pids: dict[str, int]) -> dict[str, float]:
    """CPU seconds used so far by each process of the platform, and by this load generator."""
    return {**cpu_of(pids), LOADGEN: own_cpu()}


async def measure(gateway: str, identity: str, args: argparse.Namespace,
                  rate: float | None, pids: dict[str, int]) -> dict[str, object]:
    shop = await Shop.for_new_users(gateway, identity, args.users)
    try:
        await shop.start()
        await shop.closed_loop(8, 5.0)  # warm-up
        unloaded, _ = await shop.closed_loop(1, args.unloaded_seconds)
        peak_run, peak_seconds = await shop.closed_loop(args.concurrency, args.seconds)
        peak = len(peak_run.ok) / peak_seconds
        rate = rate or args.factor * peak
        before = cpu(pids)
        over, over_seconds = await shop.open_loop(rate, args.seconds)
        after = cpu(pids)
    finally:
        await shop.close()
    return {"unloaded": unloaded, "peak_run": peak_run, "peak": peak,
            "peak_mean_latency": sum(peak_run.ok) / max(1, len(peak_run.ok)), "rate": rate,
            "over": over, "over_seconds": over_seconds,
            "over_cpu": {k: after[k] - before[k] for k in after}}


def run_platform(env: dict[str, str], args: argparse.Namespace,
                 rate: float | None = None) -> dict[str, object]:
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the supervisor and every service inherit it
    try:
        port = free_port()
        with running_platform(topology(port)) as platform:
            return asyncio.run(measure(f"http://127.0.0.1:{port}", platform.identity, args, rate,
                                       platform.pids))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def sized_limit(off: dict[str, object]) -> int:
    """Little's law: the checkouts in flight at the platform's peak throughput with twice the
    unloaded latency, L = X x 2 W0, over the share of the limit orders get (ORDER priority)."""
    unloaded = off["unloaded"]
    assert isinstance(unloaded, Outcomes)
    w0 = percentile(sorted(unloaded.ok), 50)
    return max(2, math.ceil(float(off["peak"]) * 2 * w0 / SHARES[Priority.ORDER]))  # type: ignore[arg-type]


def report(title: str, r: dict[str, object], capacity: float) -> None:
    unloaded, over, peak_run = r["unloaded"], r["over"], r["peak_run"]
    assert isinstance(unloaded, Outcomes) and isinstance(over, Outcomes)
    assert isinstance(peak_run, Outcomes)
    peak, rate = float(r["peak"]), float(r["rate"])  # type: ignore[arg-type]
    over_seconds = float(r["over_seconds"])  # type: ignore[arg-type]
    mean = float(r["peak_mean_latency"])  # type: ignore[arg-type]
    goodput = len(over.ok) / over_seconds
    u50, u99 = ms(unloaded.ok, 50), ms(unloaded.ok, 99)
    a50, a99 = ms(over.ok, 50), ms(over.ok, 99)
    arrivals = (len(over.ok) + over.cancelled + len(over.rejected) + over.failed
                + over.not_sent)
    refused = dict(sorted(peak_run.statuses.items()))
    print(f"\n== {title}")
    print(f"  unloaded checkout latency p50/p99   {u50:7.1f} / {u99:7.1f} ms "
          f"({len(unloaded.ok)} checkouts, one at a time)")
    print(f"  capacity (closed loop)              {peak:7.1f} checkouts/s, mean latency {mean * 1000:.0f} ms "
          f"(Little's L = {peak * mean:.1f} in flight); rejected {refused or 0}")
    print(f"  offered (open loop)                 {rate:7.1f} checkouts/s: {arrivals} arrivals, "
          f"{over.not_sent} not sent (every user busy); all answered in {over_seconds:.1f} s")
    print(f"  goodput                             {goodput:7.1f} checkouts/s = "
          f"{goodput / capacity:6.1%} of the platform's capacity {capacity:.1f}/s, "
          f"{goodput / peak:6.1%} of this one's closed loop (goal >= 80 %)")
    print(f"  rejected (429/503)                  {len(over.rejected):7d}  "
          f"{dict(sorted(over.statuses.items())) or ''}  p99 {ms(over.rejected, 99):.1f} ms "
          f"(goal <= 50 ms)")
    print(f"  admitted checkout latency p50/p99   {a50:7.1f} / {a99:7.1f} ms = "
          f"{a50 / u50:.2f}x / {a99 / u99:.2f}x unloaded   (goal <= 2x)")
    spent = r["over_cpu"]
    assert isinstance(spent, dict)
    top = sorted(spent.items(), key=lambda kv: -kv[1])[:6]
    restarted = sorted(k for k, v in spent.items() if v < 0)  # a new process: its count restarted
    print(f"  CPU during the open loop            {sum(max(0.0, v) for v in spent.values()):7.1f}"
          f" s of {2 * over_seconds:.0f} (2 cores): "
          + ", ".join(f"{k} {v:.1f}" for k, v in top)
          + (f"; restarted meanwhile (its CPU not counted): {', '.join(restarted)}"
             if restarted else ""))
    if over.cancelled or over.failed:
        print(f"  cancelled {over.cancelled}, failed {over.failed}"
              + (f": {over.errors}" if over.errors else ""))


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0,
                    help="of the capacity run, and of the open loop's arrivals")
    ap.add_argument("--unloaded-seconds", type=float, default=5.0)
    ap.add_argument("--factor", type=float, default=2.0, help="offered load / measured capacity")
    ap.add_argument("--users", type=int, default=300, help="checkouts in flight at most")
    ap.add_argument("--concurrency", type=int, default=16, help="of the capacity run")
    ap.add_argument("--limit", type=int, default=None,
                    help="orders' max_concurrency when protected (default: sized by Little's "
                         "law from the unprotected platform's figures; 'shipped' defaults with "
                         "--limit -1)")
    ap.add_argument("--env", nargs="*", default=[], metavar="KEY=VALUE",
                    help="settings of the platform's services (both platforms)")
    args = ap.parse_args()
    env = dict(kv.split("=", 1) for kv in args.env)
    off = run_platform(env | protection_env(False), args)
    capacity = float(off["peak"])  # type: ignore[arg-type]
    limit = sized_limit(off) if args.limit is None else args.limit
    protected = env | ({} if limit < 0 else {"ORDERS_MAX_CONCURRENCY": str(limit)})
    on = run_platform(protected, args, rate=args.factor * capacity)
    print(f"platform: souk.toml as it is; {args.users} users; the load generator shares the "
          "machine's cores (and here, other engineers' test runs: noisy figures)")
    report("protection off (max_concurrency 0 everywhere, no cap at the gateway)", off,
           capacity)
    shown = "as shipped" if limit < 0 else f"{limit}" + (
        " (sized: L = X x 2 W0 / 0.8 from the run above)" if args.limit is None else "")
    report(f"protection on, orders' max_concurrency {shown}, offered the same "
           f"{args.factor:g}x capacity", on, capacity)


if __name__ == "__main__":
    main()
