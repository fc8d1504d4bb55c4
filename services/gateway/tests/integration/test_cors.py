"""CORS at the edge (gateway.cors), on real sockets with the standard filters: off by default;
when origins are allowed, a preflight is answered by the gateway before authentication and never
forwarded, and every answer to an allowed origin, the gateway's own problems included, says so;
an origin not allowed gets nothing it could use; the origins change live."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import ISSUER

pytestmark = pytest.mark.integration

SHOP = "https://shop.example"
PROBLEM = "application/problem+json"
TYPES = "https://souk.dev/problems/"


def preflight(origin: str, method: str = "POST",
              headers: str | None = "authorization, content-type, idempotency-key"
              ) -> dict[str, str]:
    asked = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        asked["Access-Control-Request-Headers"] = headers
    return asked


@pytest.fixture
async def edge(start_upstream: Any, start_gateway: Any, keys: Any) -> str:
    await start_upstream("c1")
    return str(await start_gateway(filters=None, jwks_url=keys.url, cors_origins=(SHOP,),
                                   cors_max_age=120))


async def test_without_allowed_origins_no_answer_says_cors(start_upstream: Any,
                                                           start_gateway: Any, keys: Any,
                                                           client: Any) -> None:
    await start_upstream("c1")
    gateway = await start_gateway(filters=None, jwks_url=keys.url)
    async with client.get(f"{gateway}/api/v1/catalog/echo", headers={"Origin": SHOP}) as resp:
        assert resp.status == 200
        assert "Access-Control-Allow-Origin" not in resp.headers
        assert "Vary" not in resp.headers  # answers exactly as before
    # a preflight is not the gateway's to answer then: it goes upstream like any request
    async with client.options(f"{gateway}/api/v1/catalog/echo", headers=preflight(SHOP)) as resp:
        assert "Access-Control-Allow-Origin" not in resp.headers
        assert resp.status == 405  # the upstream's own answer to OPTIONS


async def test_a_preflight_is_answered_at_the_edge_without_credentials(
        edge: str, client: Any, signals: Any) -> None:
    # /api/v1/private needs a token and /v1/flaky counts its calls: a preflight needs neither
    url = f"{edge}/api/v1/private/flaky"
    async with client.options(url, headers=preflight(SHOP)) as resp:
        assert resp.status == 204, await resp.text()
        assert resp.headers["Access-Control-Allow-Origin"] == SHOP
        methods = {m.strip() for m in resp.headers["Access-Control-Allow-Methods"].split(",")}
        assert {"GET", "POST", "PUT", "PATCH", "DELETE"} <= methods
        allowed = {h.strip() for h in resp.headers["Access-Control-Allow-Headers"].split(",")}
        assert {"authorization", "content-type", "idempotency-key", "prefer"} <= allowed
        assert resp.headers["Access-Control-Max-Age"] == "120"
        assert "origin" in resp.headers["Vary"]
        assert "Access-Control-Allow-Credentials" not in resp.headers
        assert resp.headers["X-Request-Id"]
        assert await resp.read() == b""
    assert signals.hits["c1"] == 0  # never forwarded
    async with client.get(f"{edge}/metrics") as resp:  # counted under its route
        counted = [line for line in (await resp.text()).splitlines()
                   if line.startswith("souk_http_requests_total{")
                   and 'method="OPTIONS"' in line and 'status="204"' in line]
    assert len(counted) == 1 and 'route="/api/v1/private"' in counted[0], counted


@pytest.mark.parametrize(("asked", "names"), [
    (preflight("https://evil.example"), "https://evil.example"),
    (preflight(SHOP + ":8443"), SHOP + ":8443"),  # another port is another origin
    (preflight(SHOP, method="TRACE"), "TRACE"),
    (preflight(SHOP, headers="authorization, x-custom"), "x-custom"),
])
async def test_a_preflight_not_allowed_is_a_403_problem_without_cors_headers(
        edge: str, client: Any, asked: dict[str, str], names: str) -> None:
    async with client.options(f"{edge}/api/v1/catalog/echo", headers=asked) as resp:
        assert resp.status == 403
        assert resp.content_type == PROBLEM
        assert "Access-Control-Allow-Origin" not in resp.headers
        problem = await resp.json(content_type=None)
    assert problem["type"] == TYPES + "gateway/cors-refused"
    assert names in problem["detail"]


async def test_every_answer_to_an_allowed_origin_says_so(edge: str, client: Any) -> None:
    async with client.get(f"{edge}/api/v1/catalog/echo", headers={"Origin": SHOP}) as resp:
        assert resp.status == 200
        assert resp.headers["Access-Control-Allow-Origin"] == SHOP
        assert "origin" in resp.headers.getall("Vary")
        exposed = {h.strip() for h in resp.headers["Access-Control-Expose-Headers"].split(",")}
        assert {"x-request-id", "retry-after", "location", "ratelimit-remaining"} <= exposed
        # the upstream saw the request as it was sent: nothing is added on the way in
        seen = dict((await resp.json())["headers"])
    assert seen["origin"] == SHOP
    # the gateway's own refusal too, so that the page can read why
    async with client.post(f"{edge}/api/v1/private/echo", json={},
                           headers={"Origin": SHOP}) as resp:
        assert resp.status == 401
        assert resp.content_type == PROBLEM
        assert resp.headers["Access-Control-Allow-Origin"] == SHOP
    # and with a token, a write goes through with it
    token = ISSUER.mint()
    async with client.post(f"{edge}/api/v1/private/echo", json={"a": 1},
                           headers={"Origin": SHOP, "Authorization": f"Bearer {token}"}) as resp:
        assert resp.status == 200
        assert resp.headers["Access-Control-Allow-Origin"] == SHOP


async def test_an_origin_not_allowed_gets_its_answer_without_cors_headers(
        edge: str, client: Any) -> None:
    # the request is served as any other (a browser then keeps the answer from the page)
    async with client.get(f"{edge}/api/v1/catalog/echo",
                          headers={"Origin": "https://evil.example"}) as resp:
        assert resp.status == 200
        assert "Access-Control-Allow-Origin" not in resp.headers
        assert "Access-Control-Expose-Headers" not in resp.headers
        assert "origin" in resp.headers.getall("Vary")  # a cache keeps it apart from the rest
    # nor a request without an origin (not a browser's, or its own origin's GET)
    async with client.get(f"{edge}/api/v1/catalog/echo") as resp:
        assert resp.status == 200
        assert "Access-Control-Allow-Origin" not in resp.headers
        assert "origin" in resp.headers.getall("Vary")


async def test_any_origin_and_a_live_change(start_upstream: Any, start_gateway: Any, keys: Any,
                                            client: Any) -> None:
    await start_upstream("c1")
    gateway = await start_gateway(filters=None, jwks_url=keys.url, cors_origins=("*",))
    app = start_gateway.apps[-1]
    other = "http://localhost:5173"
    async with client.options(f"{gateway}/api/v1/catalog/echo",
                              headers=preflight(other, method="GET", headers=None)) as resp:
        assert resp.status == 204
        assert resp.headers["Access-Control-Allow-Origin"] == other  # echoed, never "*"
    app.set_cors_origins(())  # what a live `souk config set gateway.cors_origins []` does
    async with client.get(f"{gateway}/api/v1/catalog/echo", headers={"Origin": other}) as resp:
        assert resp.status == 200
        assert "Access-Control-Allow-Origin" not in resp.headers
    app.set_cors_origins((SHOP,))
    async with client.get(f"{gateway}/api/v1/catalog/echo", headers={"Origin": SHOP}) as resp:
        assert resp.headers["Access-Control-Allow-Origin"] == SHOP
