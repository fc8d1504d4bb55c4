"""The HTTP stack, chosen by measurement: one real Souk endpoint served by each candidate.

The endpoint is orders' `GET /v1/orders/{order_id}` as shipped: a user's RS256 bearer token
verified (behind the verified-token cache), the order read through orders' own unit of work and
repository from a real SQLite file, own-only check, the order as JSON. Each stack serves it under
uvicorn (uvloop, httptools) in a process pinned to CPU 0; wrk loads it from CPU 1.

* `souk`: the chassis's HTTP layer (chassis.web) — orders' real router and app factory;
* `fastapi`: FastAPI in its usual style (HTTPBearer + Depends, a pydantic response model);
* `starlette`: a bare Starlette route, auth and encoding by hand (a floor with no OpenAPI, no
  parameter checking and no problem documents).

    .venv/bin/python bench/http_stack.py [--duration 6] [--connections 32] [--rounds 3]

Prints req/s, p50/p99 and the server's CPU µs per request (median of interleaved rounds), and
each stack's CPU per request ÷ the souk stack's. FastAPI and Starlette come from
requirements/bench.txt.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from _load import ROOT, cpu_seconds, free_port, load_options, measure

STACKS = ("souk", "fastapi", "starlette")
USER = "bench-user"


async def _seed(database_url: str) -> str:
    """An order of USER in a migrated orders database; its id."""
    from chassis.db import migrate, open_database
    from chassis.ids import new_id
    from orders.adapters.sql import SqlOrders
    from orders.app import MIGRATIONS
    from orders.domain.order import Order, OrderLine
    from orders.domain.saga import Status, Step, begin

    await migrate(database_url, MIGRATIONS)
    db = open_database(database_url)
    await db.connect()
    now = time.time()
    order_id = new_id()
    lines = (OrderLine("HOM-001", 2, 1250, "Lamp"), OrderLine("KIT-0007", 1, 899, "Kettle"))
    order = Order(order_id, USER, Status.PENDING, 3399, "EUR", lines, "", now, now)
    saga = begin(order_id, now, dict.fromkeys(Step, 10.0)).saga
    async with db.transaction() as tx:
        await SqlOrders(tx).insert(order, saga, idempotency_key="k", request_hash="h",  # type: ignore[arg-type]
                                   card_token="tok_visa", trace_parent="")
    await db.close()
    return order_id


def _context(db: Any) -> Any:
    from chassis.db import SqlUnitOfWork
    from orders.adapters.sql import SqlOrders
    from orders.service.context import OrdersContext
    from orders.service.notices import StatusNotices
    from orders.service.saga_runner import SagaRunner
    from orders.service.waits import WaitSlots

    class NoMetrics:
        def placed(self) -> None: ...

        def finished(self, **kw: Any) -> None: ...

        def timed_out(self, step: str) -> None: ...

    runner = SagaRunner(StatusNotices(), {}, NoMetrics())
    return OrdersContext(uow=SqlUnitOfWork(db.transaction, SqlOrders), carts=None,  # type: ignore[arg-type]
                         runner=runner, max_wait=0, waits=WaitSlots(10))


def _own_database(database_url: str, state: dict[str, Any]) -> Any:
    """The FastAPI and Starlette stacks' lifespan: orders' context over a database of their own
    (the souk stack's comes from the chassis), in ``state["ctx"]``."""
    from contextlib import asynccontextmanager

    from chassis.db import open_database

    @asynccontextmanager
    async def lifespan(app: Any):  # type: ignore[no-untyped-def]
        db = open_database(database_url)
        await db.connect()
        state["ctx"] = _context(db)
        yield
        await db.close()

    return lifespan


def souk_app(database_url: str, issuer: Any) -> Any:
    """Orders' real HTTP layer: its router, problem map and the chassis app factory."""
    from contextlib import asynccontextmanager

    from chassis import create_service_app
    from orders.app import PROBLEMS
    from orders.entrypoints import http
    from orders.settings import OrdersSettings

    @asynccontextmanager
    async def lifespan(app: Any, runtime: Any):  # type: ignore[no-untyped-def]
        app.provide(_context(runtime.require_db()))
        yield

    settings = OrdersSettings(database_url=database_url, nats_url="", registry_url="",
                              log_level="warning")
    app = create_service_app(settings, title="orders", routers=[http.router], problems=PROBLEMS,
                             lifespan=lifespan, use_broker=False)
    app.verifier = issuer.verifier()
    return app


def fastapi_app(database_url: str, issuer: Any) -> Any:
    """The same endpoint written the way FastAPI's documentation writes one (``Depends`` as
    defaults: the dependencies are local to this function, which string annotations cannot
    name)."""
    from fastapi import Depends, FastAPI, HTTPException
    from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
    from pydantic import BaseModel

    from chassis.auth import InvalidToken

    class LineOut(BaseModel):
        sku: str
        quantity: int
        unit_price_minor: int
        name: str
        line_total_minor: int

    class OrderOut(BaseModel):
        id: str
        status: str
        total_minor: int
        currency: str
        reason: str | None
        lines: list[LineOut]
        user_id: str
        created_at: float
        updated_at: float

    state: dict[str, Any] = {}
    verifier = issuer.verifier()
    app = FastAPI(lifespan=_own_database(database_url, state))
    bearer = HTTPBearer()

    async def current_user(creds: HTTPAuthorizationCredentials = Depends(bearer)) -> str:
        try:
            claims = await verifier.verify(creds.credentials)
        except InvalidToken as exc:
            raise HTTPException(401, str(exc)) from None
        return str(claims.subject)

    async def context() -> Any:
        return state["ctx"]

    @app.get("/v1/orders/{order_id}", response_model=OrderOut)
    async def get_order(order_id: str, user: str = Depends(current_user),
                        ctx: Any = Depends(context)) -> OrderOut:
        async with ctx.uow(readonly=True) as repo:
            order = await repo.get(order_id)
        if order is None or order.user_id != user:
            raise HTTPException(404, "no such order")
        return OrderOut(id=order.id, status=order.status.value, total_minor=order.total_minor,
                        currency=order.currency, reason=order.reason or None,
                        lines=[LineOut(sku=x.sku, quantity=x.quantity,
                                       unit_price_minor=x.unit_price_minor, name=x.name,
                                       line_total_minor=x.total_minor) for x in order.lines],
                        user_id=order.user_id, created_at=order.created_at,
                        updated_at=order.updated_at)

    return app


def starlette_app(database_url: str, issuer: Any) -> Any:
    """A bare Starlette route with msgspec: the floor of a framework layer."""
    import msgspec
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from chassis.auth import InvalidToken
    from orders.entrypoints.schemas import OrderOut

    encoder = msgspec.json.Encoder()

    state: dict[str, Any] = {}
    verifier = issuer.verifier()

    async def get_order(request: Request) -> Response:
        token = request.headers.get("authorization", "").partition(" ")[2]
        try:
            claims = await verifier.verify(token)
        except InvalidToken:
            return Response(status_code=401)
        async with state["ctx"].uow(readonly=True) as repo:
            order = await repo.get(request.path_params["order_id"])
        if order is None or order.user_id != claims.subject:
            return Response(status_code=404)
        return Response(encoder.encode(OrderOut.of(order)), media_type="application/json")

    return Starlette(routes=[Route("/v1/orders/{order_id}", get_order)],
                     lifespan=_own_database(database_url, state))


def serve(stack: str, port: int, database_url: str, key_file: str) -> None:
    """The child process: one stack under uvicorn, trusting the parent's signing key."""
    import uvicorn

    from chassis.testing import TestIssuer

    issuer = TestIssuer.from_private_pem(Path(key_file).read_bytes())
    app = {"souk": souk_app, "fastapi": fastapi_app, "starlette": starlette_app}[stack](
        database_url, issuer)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, loop="uvloop", http="httptools",
                            lifespan="on", log_config=None, access_log=False)
    uvicorn.Server(config).run()


def _start(stack: str, database_url: str, key_file: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(["taskset", "-c", "0", sys.executable, __file__, "serve", stack,
                             str(port), database_url, str(key_file)], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import urllib.request

    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/orders/x", timeout=1):
                pass
        except OSError as exc:  # 401/403 arrive as HTTPError: the server answers
            if hasattr(exc, "code"):
                return proc, f"http://127.0.0.1:{port}"
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{stack} did not start")


def main() -> None:
    args = load_options(__doc__, duration=6).parse_args()
    from chassis.testing import TestIssuer

    issuer = TestIssuer()
    token = issuer.mint(sub=USER, ttl=3600)
    results: dict[str, list[dict[str, float]]] = {s: [] for s in STACKS}
    with tempfile.TemporaryDirectory(prefix="souk-http-stack-") as tmp:
        key_file = Path(tmp) / "key.pem"
        key_file.write_bytes(issuer.private_pem())
        database_url = f"sqlite:///{tmp}/orders.db"
        order_id = asyncio.run(_seed(database_url))
        headers = {"Authorization": f"Bearer {token}"}
        for round_no in range(1, args.rounds + 1):
            for stack in STACKS:
                proc, url = _start(stack, database_url, key_file)
                target = f"{url}/v1/orders/{order_id}"
                try:
                    measure(target, 2, args.connections, headers)  # warm-up
                    before = cpu_seconds(proc.pid)
                    run = measure(target, args.duration, args.connections, headers)
                    cpu = cpu_seconds(proc.pid) - before
                finally:
                    proc.terminate()
                    proc.wait(10)
                if run["errors"]:
                    raise RuntimeError(f"{stack}: {run['errors']:.0f} non-2xx answers")
                run["cpu_us"] = cpu / (run["rps"] * args.duration) * 1e6
                results[stack].append(run)
                print(f"round {round_no} {stack:9} {run['rps']:8.0f} req/s  "
                      f"p50/p99 {run['p50_ms']:.2f}/{run['p99_ms']:.2f} ms  "
                      f"CPU {run['cpu_us']:.0f} µs/req", flush=True)
    print(f"\nGET /v1/orders/{{order_id}} (JWT, SQLite read, JSON), {args.connections} "
          f"connections, median of {args.rounds} rounds")
    souk = statistics.median(r["cpu_us"] for r in results["souk"])
    for stack in STACKS:
        runs = results[stack]
        cpu = statistics.median(r["cpu_us"] for r in runs)
        print(f"  {stack:9} {statistics.median(r['rps'] for r in runs):8.0f} req/s  "
              f"p50 {statistics.median(r['p50_ms'] for r in runs):.2f} ms  "
              f"p99 {statistics.median(r['p99_ms'] for r in runs):.2f} ms  "
              f"CPU {cpu:6.0f} µs/req  ({cpu / souk:.2f}x souk)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    else:
        main()
