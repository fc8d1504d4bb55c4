"""The HTTP layer's contract (chassis.web through create_service_app), in memory: problems for
every error, parameters and bodies checked, request ids, probes and RED metrics."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path as FilePath
from typing import Annotated

import msgspec
import pytest

from chassis import Problem, ServiceSettings, create_service_app
from chassis.runtime import Runtime
from chassis.testing.asgi import AsgiClient
from chassis.testing.service import Reply
from chassis.web import (
    Answer,
    App,
    Header,
    Media,
    Path,
    Principal,
    Query,
    Request,
    Response,
    Router,
    json_response,
)

pytestmark = pytest.mark.unit


class OutOfBeans(Exception):
    """The beans ran out."""


class OvenCold(Exception):
    """A dependency is away."""


class OrderIn(msgspec.Struct, forbid_unknown_fields=True):
    quantity: Annotated[int, msgspec.Meta(ge=1, le=99)]
    password: str = ""


class Item(msgspec.Struct):
    n: int
    limit: int


router = Router(tags=["demo"])


@router.get("/v1/items/{n}", raises=(OutOfBeans,), problems={402: "pay first"})
async def get_item(n: Annotated[int, Path(ge=0)],
                   limit: Annotated[int, Query(ge=1, le=100)] = 10) -> Item:
    if n == 0:
        raise OutOfBeans("no beans left")
    if n == 1:
        raise RuntimeError("secret internal detail")
    if n == 2:
        raise Problem(402, "demo/pay-up", "payment needed", headers={"Retry-After": "3"})
    return Item(n, limit)


@router.get("/v1/kitchen/{n}", raises=(OvenCold,), problems={503: "the kitchen is away"})
async def kitchen(n: int) -> Item:
    if n == 0:
        raise Problem(503, "demo/kitchen-away", "the kitchen did not answer")
    if n == 1:
        raise OvenCold("the oven is cold")
    if n == 2:
        raise Problem(404, "demo/no-dish", "no such dish")
    return Item(n, 0)


@router.post("/v1/orders", status=201)
async def order(body: OrderIn, key: Annotated[str, Header("Idempotency-Key")]) -> Item:
    return Item(body.quantity, len(key))


@router.put("/v1/things/{name}", responses={204: None},
            headers={"Content-Location": "the thing's address"})
async def put_thing(name: str) -> None:
    return None


@router.get("/v1/tags", responses={200: (list[str], "tags")})
async def tags(tag: Annotated[list[str] | None, Query()] = None) -> object:
    return json_response(tag or [])


@router.post("/v1/blobs", body=(Media("application/octet-stream", "any bytes"),
                                Media("application/json")),
             responses={200: (Media("text/plain", "its length"), Media("application/json"))},
             problems={413: "too large (too-large)"})
async def put_blob(request: Request) -> Response:
    length = str(len(await request.body()))
    if request.header("accept") == "application/json":
        return json_response({"length": length})
    return Response(length.encode(), media_type="text/plain")


def _member(request: Request) -> str:
    """A check many routes could share: the caller's member name, or the request is answered."""
    name = request.header("x-member")
    if not name:
        raise Answer(Response(b"members only", 403, media_type="text/plain"))
    return name


@router.get("/v1/greeting", responses={200: (Media("text/plain"), "a greeting"),
                                       403: (Media("text/plain"), "not a member")})
async def greeting(request: Request) -> Response:
    return Response(f"hello {_member(request)}".encode(), media_type="text/plain")


pages = Router(tags=["pages"], ignore_other_query=True)


@pages.get("/shelf", responses={200: (Media("text/plain"), "a shelf")})
async def shelf(row: Annotated[int, Query(ge=1)] = 1) -> Response:
    return Response(f"row {row}".encode(), media_type="text/plain")


def make_app() -> App:
    return create_service_app(ServiceSettings(service_name="demo", port=1), title="demo",
                             problems={OutOfBeans: (409, "demo/out-of-beans"),
                                       OvenCold: (503, "demo/oven-cold")}, use_broker=False,
                             routers=[router, pages])


@pytest.fixture
async def client() -> AsgiClient:
    async with AsgiClient(make_app()) as c:
        yield c  # type: ignore[misc]


def problem(reply: Reply, status: int, type_suffix: str) -> dict:  # type: ignore[type-arg]
    assert reply.status == status, reply.body
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.body["status"] == status and reply.body["title"]
    assert reply.body["type"].endswith(type_suffix)
    return dict(reply.body)


async def test_a_handler_gets_typed_parameters_and_answers_json(client: AsgiClient) -> None:
    reply = await client.request("GET", "/v1/items/5?limit=7")
    assert reply.status == 200 and reply.body == {"n": 5, "limit": 7}
    assert reply.headers["content-type"] == "application/json"
    created = await client.request("POST", "/v1/orders", json={"quantity": 3},
                                   headers={"Idempotency-Key": "abcd"})
    assert created.status == 201 and created.body == {"n": 3, "limit": 4}
    assert (await client.request("PUT", "/v1/things/x")).status == 204
    assert (await client.request("GET", "/v1/tags?tag=a&tag=b")).body == ["a", "b"]


async def test_a_check_the_handler_calls_may_answer_the_request_itself(
        client: AsgiClient) -> None:
    refused = await client.request("GET", "/v1/greeting")
    assert refused.status == 403 and refused.raw == b"members only"
    assert refused.headers["content-type"] == "text/plain"
    welcomed = await client.request("GET", "/v1/greeting", headers={"X-Member": "ada"})
    assert welcomed.status == 200 and welcomed.raw == b"hello ada"


async def test_domain_errors_map_to_their_problem(client: AsgiClient) -> None:
    body = problem(await client.request("GET", "/v1/items/0"), 409, "demo/out-of-beans")
    assert body["detail"] == "no beans left" and body["instance"] == "/v1/items/0"


async def test_unexpected_errors_are_500_without_internals(client: AsgiClient) -> None:
    reply = await client.request("GET", "/v1/items/1", headers={"X-Request-Id": "req-123"})
    body = problem(reply, 500, "internal-error")
    assert b"secret" not in reply.raw and b"Traceback" not in reply.raw
    assert body["request_id"] == "req-123"


async def test_a_server_error_answered_on_purpose_is_logged_with_its_request(
        client: AsgiClient, capsys: pytest.CaptureFixture[str]) -> None:
    """A 5xx a service means (a dependency away) left no line in any log: `souk logs --trace`
    could not say why a request failed. A 4xx is the caller's business and stays quiet."""
    import json

    from chassis.logging import configure_logging

    configure_logging("demo", "demo-1")
    capsys.readouterr()
    for n, rid in ((0, "req-away"), (1, "req-cold"), (2, "req-caller")):
        await client.request("GET", f"/v1/kitchen/{n}", headers={"X-Request-Id": rid})

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()
             if line.startswith("{")]
    logged = {line["request_id"]: line for line in lines
              if line.get("event") == "answered with a server error"}
    assert set(logged) == {"req-away", "req-cold"}
    assert logged["req-away"]["problem"] == "demo/kitchen-away"
    assert logged["req-away"]["level"] == "warning" and logged["req-away"]["status"] == 503
    assert logged["req-cold"]["error_type"] == "OvenCold"
    assert logged["req-cold"]["path"] == "/v1/kitchen/1"


async def test_problem_exceptions_keep_status_and_headers(client: AsgiClient) -> None:
    reply = await client.request("GET", "/v1/items/2")
    problem(reply, 402, "demo/pay-up")
    assert reply.headers["retry-after"] == "3"


@pytest.mark.parametrize("path", ["/v1/items/abc", "/v1/items/-1", "/v1/items/5?limit=0",
                                  "/v1/items/5?limit=x", "/v1/items/5?limt=5"])
async def test_bad_parameters_are_400(client: AsgiClient, path: str) -> None:
    body = problem(await client.request("GET", path), 400, "validation-error")
    assert body["errors"][0]["loc"][0] in ("path", "query")


async def test_a_page_ignores_query_parameters_it_does_not_declare(client: AsgiClient) -> None:
    """A shop's link shared in a newsletter or a social network comes back with utm_source or
    fbclid: its page answered 400 "not quite right". An API still refuses them (above)."""
    shared = await client.request("GET", "/shelf?row=2&utm_source=newsletter&fbclid=Iw4R")
    assert shared.status == 200 and shared.raw == b"row 2"
    problem(await client.request("GET", "/shelf?row=0&utm_source=x"), 400, "validation-error")


async def test_a_missing_header_is_400_naming_it(client: AsgiClient) -> None:
    body = problem(await client.request("POST", "/v1/orders", json={"quantity": 1}), 400,
                   "validation-error")
    assert body["errors"][0]["loc"] == ["header", "idempotency-key"]


async def test_bad_bodies_are_422_and_never_echo_input(client: AsgiClient) -> None:
    reply = await client.request("POST", "/v1/orders", json={"quantity": 500, "password": "hunter2"},
                                 headers={"Idempotency-Key": "k"})
    body = problem(reply, 422, "validation-error")
    assert b"hunter2" not in reply.raw and body["errors"][0]["loc"] == ["body", "quantity"]
    unknown = await client.request("POST", "/v1/orders", json={"quantity": 1, "x": 1},
                                   headers={"Idempotency-Key": "k"})
    problem(unknown, 422, "validation-error")


async def test_malformed_json_is_400_and_other_media_types_415(client: AsgiClient) -> None:
    headers = {"Idempotency-Key": "k", "Content-Type": "application/json"}
    problem(await client.request("POST", "/v1/orders", body=b"{not json", headers=headers), 400,
            "invalid-json")
    form = {"Idempotency-Key": "k", "Content-Type": "text/plain"}
    problem(await client.request("POST", "/v1/orders", body=b"x", headers=form), 415,
            "unsupported-media-type")
    # a content coding is not decoded: refused, rather than read as if it were not there
    plain = b'{"quantity": 1}'
    for coding in ("gzip", "br, gzip"):
        body = problem(await client.request(
            "POST", "/v1/orders", body=plain, headers={**headers, "Content-Encoding": coding}),
            415, "unsupported-media-type")
        assert "content coding" in body["detail"]
    identity = {**headers, "Content-Encoding": "identity"}
    assert (await client.request("POST", "/v1/orders", body=plain, headers=identity)).status == 201


async def test_a_body_over_the_limit_is_413(client: AsgiClient) -> None:
    client.app.max_body = 100
    reply = await client.request("POST", "/v1/orders", body=b'{"quantity": 1' + b" " * 200 + b"}",
                                 headers={"Idempotency-Key": "k",
                                          "Content-Type": "application/json"})
    problem(reply, 413, "too-large")


async def test_unknown_route_and_method_are_problems(client: AsgiClient) -> None:
    """Their details do not repeat the path: behind the edge it is the service's own."""
    body = problem(await client.request("GET", "/nowhere"), 404, "not-found")
    assert "/nowhere" not in body["detail"]
    reply = await client.request("DELETE", "/v1/orders")
    body = problem(reply, 405, "method-not-allowed")
    assert reply.headers["allow"] == "POST" and "/v1/orders" not in body["detail"]
    assert body["detail"] == "DELETE is not allowed here; allowed: POST"
    reply = await client.request("DELETE", "/v1/items/3")
    assert reply.status == 405 and reply.headers["allow"] == "GET, HEAD"


async def test_head_is_answered_as_get_without_the_body(client: AsgiClient) -> None:
    """RFC 9110 9.3.2: every GET route answers HEAD, with GET's status and headers."""
    got = await client.request("GET", "/v1/items/3?limit=5")
    head = await client.request("HEAD", "/v1/items/3?limit=5")
    assert (head.status, head.raw) == (200, b"")
    assert head.headers["content-length"] == got.headers["content-length"] != "0"
    assert head.headers["content-type"] == got.headers["content-type"]
    refused = await client.request("HEAD", "/v1/items/3?limit=500")
    assert refused.status == 400 and refused.raw == b""
    assert refused.headers["content-type"] == "application/problem+json"
    assert (await client.request("HEAD", "/v1/orders")).status == 405  # no GET there


async def test_a_path_has_one_spelling_a_trailing_slash_is_not_redirected(
        client: AsgiClient) -> None:
    # a redirect would name the address the request reached: behind the edge, an internal one
    for path in ("/v1/orders/", "/v1/items/5/"):
        reply = await client.request("POST" if "orders" in path else "GET", path)
        problem(reply, 404, "not-found")
        assert "location" not in reply.headers


async def test_request_id_is_generated_or_propagated(client: AsgiClient) -> None:
    reply = await client.request("GET", "/v1/items/5", headers={"X-Request-Id": "abc"})
    assert reply.headers["x-request-id"] == "abc"
    generated = (await client.request("GET", "/v1/items/5")).headers["x-request-id"]
    assert len(generated) == 32 and generated != (await client.request(
        "GET", "/v1/items/5")).headers["x-request-id"]
    # unsafe ids (control characters, too long) are replaced, not logged
    long = await client.request("GET", "/v1/items/5", headers={"X-Request-Id": "a" * 300})
    assert long.headers["x-request-id"] != "a" * 300


async def test_probes_and_red_metrics(client: AsgiClient) -> None:
    assert (await client.request("GET", "/health/live")).body["status"] == "alive"
    assert (await client.request("GET", "/health/ready")).body == {"status": "ready",
                                                                   "checks": {}}
    for _ in range(3):
        await client.request("GET", "/v1/items/7")
    await client.request("GET", "/v1/items/0")
    text = (await client.request("GET", "/metrics")).raw.decode()
    assert ('souk_http_requests_total{method="GET",route="/v1/items/{n}",service="demo",'
            'status="200"} 3.0') in text
    assert ('souk_http_requests_total{method="GET",route="/v1/items/{n}",service="demo",'
            'status="409"} 1.0') in text
    assert 'souk_http_request_duration_seconds_count{method="GET",route="/v1/items/{n}"' in text


async def test_the_openapi_document_declares_every_answer(client: AsgiClient) -> None:
    doc = (await client.request("GET", "/openapi.json")).body
    get_item_op = doc["paths"]["/v1/items/{n}"]["get"]
    assert set(get_item_op["responses"]) == {"200", "400", "402", "409", "503", "504",
                                            "5XX"}
    assert get_item_op["responses"]["409"]["content"] == {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    assert "The beans ran out" in get_item_op["responses"]["409"]["description"]
    params = {p["name"]: p for p in get_item_op["parameters"]}
    assert params["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100,
                                         "default": 10}
    assert params["n"]["in"] == "path" and params["n"]["required"] is True
    post = doc["paths"]["/v1/orders"]["post"]
    assert set(post["responses"]) == {"201", "400", "413", "415", "422", "503", "504",
                                      "5XX"}
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OrderIn"}
    assert doc["components"]["schemas"]["OrderIn"]["additionalProperties"] is False
    assert set(doc["paths"]["/v1/things/{name}"]["put"]["responses"]) == {
        "204", "400", "503", "504", "5XX"}
    assert "content" not in doc["paths"]["/v1/things/{name}"]["put"]["responses"]["204"]
    # headers: those a route declares on its successes, Retry-After on every 429 and 503
    put = doc["paths"]["/v1/things/{name}"]["put"]["responses"]
    assert put["204"]["headers"]["Content-Location"]["description"] == "the thing's address"
    assert "headers" not in put["400"]
    assert set(put["503"]["headers"]) == {"Retry-After"}


def test_the_openapi_title_names_the_service_unless_given() -> None:
    settings = ServiceSettings(service_name="demo", port=1)
    named = msgspec.json.decode(create_service_app(settings).openapi())
    titled = msgspec.json.decode(create_service_app(settings, title="Demo API").openapi())
    assert (named["info"]["title"], titled["info"]["title"]) == ("Souk demo", "Demo API")


async def test_a_body_read_by_the_handler_is_documented_by_media_type(
        client: AsgiClient) -> None:
    client.app.max_body = 100
    reply = await client.request("POST", "/v1/blobs", body=b"\x00" * 100)
    assert (reply.status, reply.raw) == (200, b"100")
    problem(await client.request("POST", "/v1/blobs", body=b"\x00" * 101), 413, "too-large")
    op = (await client.request("GET", "/openapi.json")).body["paths"]["/v1/blobs"]["post"]
    assert op["requestBody"] == {"required": True, "content": {
        "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        "application/json": {"schema": {"type": "object"}}},
        "description": "application/octet-stream: any bytes"}
    assert op["responses"]["200"] == {"description": "its length; application/json", "content": {
        "text/plain": {"schema": {"type": "string"}},
        "application/json": {"schema": {"type": "object"}}}}
    assert set(op["responses"]) == {"200", "413", "503", "504", "5XX"}


def test_routes_that_cannot_be_filled_fail_at_declaration() -> None:
    r = Router()
    with pytest.raises(TypeError, match="no parameter for path"):
        @r.get("/v1/x/{missing}")
        async def x() -> Item: ...
    with pytest.raises(TypeError, match="takes a Principal but has no auth"):
        @r.get("/v1/y")
        async def y(user: Principal) -> Item: ...
    with pytest.raises(TypeError, match="two bodies"):
        @r.post("/v1/z", body=Media("application/octet-stream"))
        async def z(body: OrderIn) -> Item: ...


def test_a_route_raising_an_unmapped_error_is_refused() -> None:
    class Unmapped(Exception):
        pass

    r = Router()

    @r.get("/v1/z", raises=(Unmapped,))
    async def z() -> Item: ...

    app = make_app()
    with pytest.raises(TypeError, match="does not map"):
        app.include(r)


async def test_background_work_stops_before_the_database_closes(tmp_path: FilePath) -> None:
    seen: list[str] = []

    @asynccontextmanager
    async def lifespan(app: App, runtime: Runtime) -> AsyncIterator[None]:
        db = runtime.require_db()

        async def work() -> None:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                try:
                    await db.ping()
                    seen.append("stopped, the database still open")
                except Exception:
                    seen.append("stopped after the database closed")
                raise

        runtime.background.every(1, work, name="work")
        yield

    settings = ServiceSettings(service_name="demo", port=1,
                               database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    async with AsgiClient(create_service_app(settings, title="demo", use_broker=False,
                                             lifespan=lifespan)):
        await asyncio.sleep(0)  # the work starts
    assert seen == ["stopped, the database still open"]


async def test_a_start_that_fails_reports_its_reason_once_and_cleans_up(
        tmp_path: FilePath) -> None:
    """The lifespan's own error is the start-up failure: no second error from exiting a context
    that was never entered (it buried the reason under "generator didn't stop after athrow()"),
    and what the chassis had opened before it (the database) is closed."""
    opened: list[Runtime] = []

    @asynccontextmanager
    async def lifespan(app: App, runtime: Runtime) -> AsyncIterator[None]:
        opened.append(runtime)
        raise RuntimeError("demo needs an upstream it was not given")
        yield

    settings = ServiceSettings(service_name="demo", port=1,
                               database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    app = create_service_app(settings, title="demo", use_broker=False, lifespan=lifespan)
    sent: list[dict[str, object]] = []
    inbox = [{"type": "lifespan.startup"}]

    async def receive() -> dict[str, object]:
        return inbox.pop(0)

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    await app({"type": "lifespan"}, receive, send)  # raised before: the second error

    assert sent == [{"type": "lifespan.startup.failed",
                     "message": "demo needs an upstream it was not given"}]
    with pytest.raises(RuntimeError, match="not connected"):
        await opened[0].require_db().ping()


async def test_an_answer_whose_trace_is_kept_says_so_for_the_edge() -> None:
    from chassis.trace_keep import TailKeep
    from chassis.tracing import Tracing, current_span

    class Dropped:
        def export(self, span: object) -> None: ...

        def flush(self, timeout: float = 5.0) -> None: ...

        def shutdown(self) -> None: ...

        async def aclose(self) -> None: ...

    tracing = Tracing(TailKeep(Dropped(), keep_ratio=0.0, slow_ms=60_000))
    traced = Router()

    @traced.get("/v1/fail/{n}")
    async def fail(n: int) -> Item:
        if n:
            tracing.keep(current_span())  # a cancelled checkout, say
        return Item(n, 0)

    app = App(title="kept", tracing=tracing)
    app.include(traced)
    parent = {"traceparent": "00-0af7651916cd43ddffffffffffffff01-b7ad6b7169203331-01"}
    other = {"traceparent": "00-0af7651916cd43ddffffffffffffff02-b7ad6b7169203331-01"}
    async with AsgiClient(app) as c:
        assert (await c.request("GET", "/v1/fail/1", headers=parent)).headers[
            "souk-trace-keep"] == "1"
        assert "souk-trace-keep" not in (await c.request("GET", "/v1/fail/0",
                                                         headers=other)).headers


def test_the_migrations_beside_the_settings_package_are_found_by_convention(
        tmp_path: FilePath, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "shopsvc"
    (package / "migrations" / "versions").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(
        "from chassis import StatefulServiceSettings\n\n\n"
        "class ShopSettings(StatefulServiceSettings, frozen=True, kw_only=True):\n"
        "    service_name: str = 'shop'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    from shopsvc.settings import ShopSettings  # type: ignore[import-not-found]

    from chassis.db import service_migrations

    assert service_migrations("shopsvc") == package / "migrations"
    assert create_service_app(ShopSettings(), use_broker=False).migrations == (  # type: ignore[attr-defined]
        package / "migrations")
    explicit = tmp_path / "elsewhere"
    assert create_service_app(ShopSettings(), use_broker=False,
                              migrations=explicit).migrations == explicit  # type: ignore[attr-defined]
    # the chassis's own settings class: its package has no migrations folder
    assert make_app().migrations is None  # type: ignore[attr-defined]


async def test_a_front_ends_error_page_answers_browsers_and_problem_json_the_rest() -> None:
    app = make_app()

    def page(error: Problem, request: Request) -> Response:
        return Response(f"<h1>{error.status}</h1>".encode(), error.status,
                        media_type="text/html")

    app.error_page = page
    async with AsgiClient(app) as c:
        browser = await c.request("GET", "/v1/nowhere", headers={"Accept": "text/html,*/*"})
        assert (browser.status, browser.raw) == (404, b"<h1>404</h1>")
        bad = await c.request("GET", "/v1/items/x", headers={"Accept": "text/html"})
        assert (bad.status, bad.headers["content-type"]) == (400, "text/html")
        problem(await c.request("GET", "/v1/nowhere"), 404, "not-found")
        document = (await c.request("GET", "/openapi.json")).body
    answers = document["paths"]["/v1/items/{n}"]["get"]["responses"]["400"]["content"]
    assert set(answers) == {"application/problem+json", "text/html"}


class SuppliesAway(Exception):
    """A domain error a service maps to 503 when another service does not answer."""


async def test_a_5xx_for_a_failed_service_further_on_says_so_in_proxy_status() -> None:
    """So that the caller's breaker does not open on this healthy service (chassis.http.errors):
    only an answer caused by a failed call to another service carries it."""
    from chassis.http import UpstreamError, UpstreamTimeout

    r = Router()

    @r.get("/v1/supplies/{n}", raises=(SuppliesAway, OutOfBeans))
    async def supplies(n: Annotated[int, Path(ge=0)]) -> Item:
        try:
            if n == 0:
                raise UpstreamTimeout("beans", "no answer within 1s")
            if n == 1:
                raise UpstreamError("beans", 500, {})
            raise OSError("the disk is full")  # this service's own failure
        except (UpstreamError, UpstreamTimeout) as exc:
            raise SuppliesAway(str(exc)) from exc
        except OSError as exc:
            if n == 3:
                raise OutOfBeans("mapped to a 4xx") from exc
            raise SuppliesAway(str(exc)) from exc

    app = create_service_app(ServiceSettings(service_name="grocer", port=1), title="demo",
                             problems={SuppliesAway: (503, "demo/supplies-away"),
                                       OutOfBeans: (409, "demo/out-of-beans")},
                             use_broker=False, routers=[r])
    async with AsgiClient(app) as c:
        timed_out, failed, own, refused = [await c.request("GET", f"/v1/supplies/{n}")
                                           for n in range(4)]
    assert timed_out.status == 503 and timed_out.headers["proxy-status"] == (
        'grocer; error=http_response_timeout; next-hop="beans"')
    assert failed.headers["proxy-status"] == 'grocer; error=destination_unavailable; next-hop="beans"'
    assert own.status == 503 and "proxy-status" not in own.headers
    assert refused.status == 409 and "proxy-status" not in refused.headers


class NoteIn(msgspec.Struct):  # unknown fields ignored, as most services' bodies
    text: str = ""


notes = Router(tags=["notes"])


@notes.post("/v1/notes", responses={204: None})
async def add_note(body: NoteIn) -> None:
    return None


async def test_a_body_nested_past_the_decoders_depth_is_400_even_in_an_ignored_field() -> None:
    app = create_service_app(ServiceSettings(service_name="demo", port=1), title="demo",
                             use_broker=False, routers=[notes])
    headers = {"Content-Type": "application/json"}
    async with AsgiClient(app) as c:
        assert (await c.request("POST", "/v1/notes", json={"text": "a", "x": [[1]]})).status == 204
        deep = b'{"text": "a", "x": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
        body = problem(await c.request("POST", "/v1/notes", body=deep, headers=headers), 400,
                       "invalid-json")
        assert "nested too deeply" in body["detail"]


async def test_a_stream_answers_head_with_its_headers_and_makes_no_chunk() -> None:
    from chassis.web.responses import StreamResponse

    made: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        made.append(1)
        yield b"data: 1\n\n"

    sent: list[dict[str, object]] = []

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    await StreamResponse(chunks(), media_type="text/event-stream").send(send, head_only=True)
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[1]["body"] == b"" and made == []
