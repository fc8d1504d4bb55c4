"""The gateway over real sockets: proxying, failures as problems, streaming, local endpoints."""

from __future__ import annotations

import asyncio
import hashlib
import time
from typing import Any

import aiohttp
import orjson
import pytest
from yarl import URL

from chassis.problems import Problem
from chassis.testing import free_port

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"
TYPES = "https://souk.dev/problems/"


def header_list(doc: dict[str, Any], name: str) -> list[str]:
    return [v for k, v in doc["headers"] if k == name]


@pytest.fixture
async def gateway(start_upstream: Any, start_gateway: Any) -> str:
    await start_upstream("catalog-1")
    return str(await start_gateway())


async def test_proxies_a_get_with_its_path_and_query_string(gateway: str, client) -> None:
    async with client.get(URL(f"{gateway}/api/v1/catalog/echo/a%20b?x=1&y=%2F&x=2",
                              encoded=True)) as resp:
        assert resp.status == 200
        doc = await resp.json()
    assert doc["method"] == "GET"
    assert doc["raw_path"] == "/v1/echo/a%20b"
    assert doc["path"] == "/v1/echo/a b"
    assert doc["query"] == "x=1&y=%2F&x=2"


async def test_proxies_a_post_body_and_its_content_type(gateway: str, client) -> None:
    payload = {"name": "tea", "price": "3.50"}
    async with client.post(f"{gateway}/api/v1/catalog/echo", json=payload) as resp:
        assert resp.status == 200
        doc = await resp.json()
    assert doc["method"] == "POST"
    assert orjson.loads(doc["body"]) == payload
    assert header_list(doc, "content-type") == ["application/json"]


async def test_forwards_a_chunked_request_body(gateway: str, client) -> None:
    async def parts():
        for part in (b"one ", b"two ", b"three"):
            yield part

    async with client.put(f"{gateway}/api/v1/catalog/echo", data=parts()) as resp:
        doc = await resp.json()
    assert doc["body"] == "one two three"
    assert header_list(doc, "content-length") == ["13"]
    assert header_list(doc, "transfer-encoding") == []


@pytest.mark.parametrize("code", [201, 204, 404, 409, 500])
async def test_relays_the_upstream_status(gateway: str, client, code: int) -> None:
    async with client.get(f"{gateway}/api/v1/catalog/status/{code}") as resp:
        assert resp.status == code
        body = await resp.read()
    assert body == (b"" if code == 204 else f"status {code}".encode())


async def test_head_requests_get_headers_only(gateway: str, client) -> None:
    async with client.head(f"{gateway}/api/v1/catalog/echo") as resp:
        assert resp.status == 200
        assert int(resp.headers["Content-Length"]) > 0
        assert await resp.read() == b""


async def test_passes_compressed_bodies_through_untouched(gateway: str, client, samples) -> None:
    async with client.get(f"{gateway}/api/v1/catalog/compressed",
                          headers={"Accept-Encoding": "gzip"}) as resp:
        assert resp.headers["Content-Encoding"] == "gzip"
        assert resp.headers["Content-Length"] == str(len(samples.gzipped))
        assert await resp.read() == samples.gzipped


async def test_propagates_and_echoes_the_callers_request_id(gateway: str, client) -> None:
    async with client.get(f"{gateway}/api/v1/catalog/echo",
                          headers={"X-Request-Id": "req-123"}) as resp:
        doc = await resp.json()
        assert resp.headers.getall("X-Request-Id") == ["req-123"]
    assert header_list(doc, "x-request-id") == ["req-123"]


async def test_creates_a_request_id_when_there_is_none(gateway: str, client) -> None:
    async with client.get(f"{gateway}/api/v1/catalog/echo",
                          headers={"X-Request-Id": "bad id with spaces"}) as resp:
        doc = await resp.json()
        echoed = resp.headers.getall("X-Request-Id")
    assert len(echoed) == 1 and echoed[0] != "bad id with spaces"
    assert header_list(doc, "x-request-id") == echoed


async def test_sets_forwarding_headers_and_the_deadline(gateway: str, client) -> None:
    before = time.time() * 1000
    async with client.get(f"{gateway}/api/v1/catalog/echo", headers={
        "Connection": "keep-alive, X-Secret", "X-Secret": "hop", "X-Kept": "end-to-end",
        "X-Souk-Deadline": "1",
    }) as resp:
        doc = await resp.json()
        assert len(resp.headers.getall("Date")) == 1
    host = URL(gateway).raw_authority
    assert header_list(doc, "x-secret") == []
    assert header_list(doc, "x-kept") == ["end-to-end"]
    assert header_list(doc, "x-forwarded-for") == ["127.0.0.1"]
    assert header_list(doc, "x-forwarded-proto") == ["http"]
    assert header_list(doc, "x-forwarded-host") == [host]
    assert header_list(doc, "host") != [host]
    [deadline] = header_list(doc, "x-souk-deadline")
    # rounded up to the millisecond: never earlier than the 5 s the route allows
    assert before + 5000 <= int(deadline) <= time.time() * 1000 + 5000 + 1


async def test_spreads_requests_over_every_instance(start_upstream, start_gateway,
                                                    client) -> None:
    await start_upstream("catalog-1")
    await start_upstream("catalog-2")
    gateway = await start_gateway()
    seen = []
    for _ in range(10):
        async with client.get(f"{gateway}/api/v1/catalog/echo") as resp:
            seen.append((await resp.json())["instance"])
    assert set(seen) == {"catalog-1", "catalog-2"}


async def test_ejects_a_stopped_instance_and_retries_on_another(
        start_upstream, start_gateway, client, discovery) -> None:
    await start_upstream("catalog-1")
    _, second = await start_upstream("catalog-2")
    gateway = await start_gateway()
    for _ in range(4):  # warm the pool towards both
        async with client.get(f"{gateway}/api/v1/catalog/echo") as resp:
            assert resp.status == 200
    await second.aclose()
    served = []
    for i in range(10):
        method = "POST" if i % 2 else "GET"  # the request never left: any method is retried
        async with client.request(method, f"{gateway}/api/v1/catalog/echo", data=b"x") as resp:
            assert resp.status == 200
            served.append((await resp.json())["instance"])
    assert set(served) == {"catalog-1"}
    assert discovery.ejections == ["catalog-2"]  # ejected once, then skipped
    async with client.get(f"{gateway}/metrics") as resp:
        metrics = await resp.text()
    assert 'souk_gateway_upstream_attempts_total{outcome="connect_error",service="catalog"} 1.0' \
        in metrics
    assert "souk_gateway_ejected_instances 1.0" in metrics


async def test_every_instance_refusing_is_a_bad_gateway(start_gateway, client,
                                                        discovery) -> None:
    for name in ("catalog-1", "catalog-2", "catalog-3", "catalog-4"):
        discovery.add("catalog", name, f"http://127.0.0.1:{free_port()}")
    gateway = await start_gateway()
    async with client.post(f"{gateway}/api/v1/catalog/echo", data=b"x") as resp:
        assert resp.status == 502
        assert resp.content_type == PROBLEM
        doc = await resp.json(content_type=PROBLEM)
    assert doc["type"] == TYPES + "gateway/bad-gateway"
    assert doc["attempts"] == 3  # the first try and two retries
    assert len(discovery.ejections) == 3


async def test_no_healthy_instance_is_503_with_retry_after(gateway: str, client) -> None:
    async with client.get(f"{gateway}/api/v1/orders/mine") as resp:
        assert resp.status == 503
        assert resp.headers["Retry-After"] == "1"
        assert resp.headers["X-Request-Id"]
        doc = await resp.json(content_type=PROBLEM)
    assert doc["type"] == TYPES + "gateway/no-healthy-instance"
    assert doc["status"] == 503
    assert doc["instance"] == "/api/v1/orders/mine"


async def test_a_slow_upstream_is_a_timeout_at_the_route_timeout(gateway: str, client) -> None:
    started = time.monotonic()
    async with client.get(f"{gateway}/api/v1/slow?seconds=1") as resp:
        assert resp.status == 504
        doc = await resp.json(content_type=PROBLEM)
    elapsed = time.monotonic() - started
    assert doc["type"] == TYPES + "gateway/upstream-timeout"
    assert 0.25 <= elapsed < 0.9


async def test_refuses_a_body_over_the_limit(gateway: str, client) -> None:
    async with client.post(f"{gateway}/api/v1/catalog/echo", data=b"x" * (64 * 1024 + 1)) as resp:
        assert resp.status == 413
        doc = await resp.json(content_type=PROBLEM)
    assert doc["type"] == TYPES + "gateway/request-too-large"

    async def parts():
        for _ in range(5):
            yield b"y" * (16 * 1024)

    async with client.post(f"{gateway}/api/v1/catalog/echo", data=parts()) as resp:
        assert resp.status == 413


async def test_an_unknown_route_is_404(gateway: str, client) -> None:
    for path in ("/api/v1/nowhere/x", "/api/v1/catalogue", "/"):
        async with client.get(f"{gateway}{path}") as resp:
            assert resp.status == 404
            doc = await resp.json(content_type=PROBLEM)
        assert doc["type"] == TYPES + "gateway/no-route"


async def test_refuses_dot_segments(gateway: str, client) -> None:
    url = URL(f"{gateway}/api/v1/catalog/%2e%2e/admin", encoded=True)
    async with client.get(url) as resp:
        assert resp.status == 400


async def test_serves_the_service_openapi_rewritten_for_the_gateway(gateway: str,
                                                                    client) -> None:
    async with client.get(f"{gateway}/api/v1/catalog/openapi.json",
                          headers={"Accept-Encoding": "gzip"}) as resp:
        assert resp.status == 200
        assert resp.content_type == "application/json"
        doc = await resp.json()
    assert doc["servers"] == [{"url": "/api/v1"}]
    assert set(doc["paths"]) == {"/catalog/products", "/catalog/products/{product_id}"}
    assert doc["info"]["title"] == "catalog"


async def test_streams_a_large_response(gateway: str, client, signals, samples) -> None:
    digest = hashlib.sha256()
    async with client.get(f"{gateway}/api/v1/catalog/big") as resp:
        assert resp.status == 200
        # the upstream holds the rest back until we have the head: a buffering gateway hangs here
        head = await asyncio.wait_for(resp.content.readexactly(samples.big_head), 5)
        digest.update(head)
        signals.release_big.set()
        received = len(head)
        async for chunk in resp.content.iter_any():
            digest.update(chunk)
            received += len(chunk)
    assert received == samples.big_total
    tail = samples.big_total - samples.big_head
    assert digest.hexdigest() == hashlib.sha256(b"a" * samples.big_head + b"b" * tail).hexdigest()


async def test_stops_streaming_when_the_client_goes_away(gateway: str, client,
                                                          signals) -> None:
    async with client.get(f"{gateway}/api/v1/catalog/endless") as resp:
        assert resp.status == 200
        await resp.content.readexactly(4096)
        resp.close()
    # the gateway notices, closes its upstream connection, and the upstream stops producing
    await asyncio.wait_for(signals.endless_stopped.wait(), 5)


@pytest.mark.parametrize("pooled", [False, True], ids=["new-connection", "pooled-connection"])
async def test_a_client_that_hangs_up_before_the_answer_is_hung_up_on_upstream_too(
        gateway: str, client, signals, pooled: bool) -> None:
    # nobody is left to answer: the upstream sees its own client go (a long poll stops waiting)
    # and the gateway neither retries nor counts a failure of the upstream
    if pooled:  # the gateway then sends on a kept-alive connection (its first-attempt path)
        async with client.get(f"{gateway}/api/v1/catalog/echo") as resp:
            assert resp.status == 200
    _, writer = await asyncio.open_connection(URL(gateway).host, URL(gateway).port)
    writer.write(b"GET /api/v1/catalog/until-gone HTTP/1.1\r\nHost: souk\r\n\r\n")
    await writer.drain()
    for _ in range(200):
        if signals.waiting:
            break
        await asyncio.sleep(0.01)
    assert signals.waiting == 1
    writer.close()
    await asyncio.wait_for(signals.gone.wait(), 5)
    assert signals.hung_up == 1
    await asyncio.sleep(0.1)  # a retry would have reached the upstream by now
    assert signals.waiting == 1
    async with client.get(f"{gateway}/metrics") as resp:
        text = await resp.text()
    assert 'route="/api/v1/catalog",service="gateway",status="499"} 1.0' in text
    # not an upstream failure (the series is there from the start, at 0)
    assert 'souk_gateway_upstream_attempts_total{outcome="error",service="catalog"} 0.0' in text
    async with client.get(f"{gateway}/api/v1/catalog/echo") as resp:  # and it carries on
        assert resp.status == 200


async def test_an_upstream_dying_mid_body_truncates_the_response(gateway: str, client) -> None:
    async with client.get(f"{gateway}/api/v1/catalog/broken") as resp:
        assert resp.status == 200
        with pytest.raises(aiohttp.ClientPayloadError):
            await resp.read()
    async with client.get(f"{gateway}/api/v1/catalog/echo") as resp:  # the gateway carries on
        assert resp.status == 200


async def test_metrics_count_requests_by_route_and_upstream_attempts(gateway: str,
                                                                     client) -> None:
    for path in ("/api/v1/catalog/echo", "/api/v1/catalog/echo", "/api/v1/nowhere"):
        async with client.get(f"{gateway}{path}") as resp:
            await resp.read()
    async with client.get(f"{gateway}/metrics") as resp:
        assert resp.status == 200
        assert resp.content_type == "text/plain"
        text = await resp.text()
    assert ('souk_http_requests_total{method="GET",route="/api/v1/catalog",service="gateway",'
            'status="200"} 2.0') in text
    assert ('souk_http_requests_total{method="GET",route="<unmatched>",service="gateway",'
            'status="404"} 1.0') in text
    assert 'souk_gateway_upstream_attempts_total{outcome="response",service="catalog"} 2.0' in text
    assert "souk_gateway_ejected_instances 0.0" in text


async def test_requests_refused_before_any_route_are_counted_and_server_errors_logged(
        gateway: str, client, capsys) -> None:
    """A flood of malformed or oversized requests was invisible: refused by the connection,
    they reached no counter. And the edge's own 5xx (no healthy instance, a breaker open) left
    no log line."""
    import json

    async with client.get(f"{gateway}/api/v1/catalog/{'x' * 9000}") as resp:
        assert resp.status == 414
    async with client.get(f"{gateway}/metrics") as resp:
        text = await resp.text()
    assert 'route="<unmatched>",service="gateway",status="414"} 1.0' in text

    from chassis.logging import configure_logging

    configure_logging("gateway", "gateway-1")
    capsys.readouterr()
    async with client.get(f"{gateway}/api/v1/orders/mine") as resp:  # no orders instance
        assert resp.status == 503
        rid = resp.headers["X-Request-Id"]
    logged = [json.loads(line) for line in capsys.readouterr().out.splitlines()
              if '"answered with a server error"' in line]
    assert [(line["status"], line["request_id"], line["route"], line["problem"])
            for line in logged] == [(503, rid, "/api/v1/orders", "gateway/no-healthy-instance")]


async def test_metrics_are_read_only_from_the_allowed_addresses(start_upstream, start_gateway,
                                                                client) -> None:
    """The edge is public (a LoadBalancer in prod): its counters go to a scraper's addresses
    (loopback and the private ranges by default), not to anyone who asks."""
    await start_upstream("catalog-1")
    default = await start_gateway()
    elsewhere = await start_gateway(metrics_allow="10.0.0.0/8, fc00::/7")

    async with client.get(f"{default}/metrics") as resp:
        assert resp.status == 200
    async with client.get(f"{elsewhere}/metrics") as resp:
        assert resp.status == 403
        assert (await resp.json(content_type=None))["type"].endswith("/gateway/forbidden")
    async with client.get(f"{elsewhere}/health/ready") as resp:  # probes stay open
        assert resp.status == 200


async def test_health_probes(gateway: str, client, discovery) -> None:
    async with client.get(f"{gateway}/health/live") as resp:
        assert resp.status == 200
        assert (await resp.json())["status"] == "alive"
    discovery.registry_reachable = False  # still ready: routing continues from the cache
    async with client.get(f"{gateway}/health/ready") as resp:
        assert resp.status == 200
        doc = await resp.json()
    assert doc["status"] == "ready"
    assert doc["checks"] == {"routes": "ok", "upstream_session": "ok"}
    assert doc["registry"] == "unreachable (serving from cache)"
    async with client.post(f"{gateway}/metrics") as resp:
        assert resp.status == 405
        assert resp.headers["Allow"] == "GET, HEAD"


async def test_filters_run_before_proxying(start_upstream, start_gateway, client) -> None:
    await start_upstream("catalog-1")
    seen = []

    async def members_only(route, request) -> Problem | None:
        seen.append(route.prefix)
        if not route.public:
            return Problem(401, "gateway/unauthenticated", "sign in first",
                           headers={"WWW-Authenticate": "Bearer"})
        return None

    gateway = await start_gateway(filters=[members_only])
    async with client.get(f"{gateway}/api/v1/orders/mine") as resp:
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"] == "Bearer"
    async with client.get(f"{gateway}/api/v1/catalog/echo") as resp:
        assert resp.status == 200
    assert seen == ["/api/v1/orders", "/api/v1/catalog"]


async def test_shutdown_finishes_requests_in_flight_and_stops_accepting(
        start_upstream, discovery, routes_file, client) -> None:
    from gateway.app import create_app
    from gateway.serving import serving
    from gateway.settings import GatewaySettings

    await start_upstream("catalog-1")
    settings = GatewaySettings(routes_file=routes_file, port=free_port(), log_level="warning",
                               shutdown_timeout=5)
    url = f"http://127.0.0.1:{settings.port}/api/v1/catalog/slow?seconds=0.4"

    async def slow_call() -> tuple[int, Any]:
        async with client.get(url) as resp:
            return resp.status, await resp.json()

    async with serving(create_app(settings, discovery=discovery, filters=()), "127.0.0.1",
                       settings.port):
        in_flight = asyncio.create_task(slow_call())
        await asyncio.sleep(0.15)  # the request reached the upstream
    # leaving the block shut the gateway down: only after the request in flight was answered
    assert in_flight.done()
    assert await in_flight == (200, {"slow": True})
    with pytest.raises(aiohttp.ClientConnectionError):
        async with client.get(url, timeout=aiohttp.ClientTimeout(total=2)):
            pass
