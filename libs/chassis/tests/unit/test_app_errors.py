"""The app factory's error contract, exercised in memory (no sockets: TestClient is in-process)."""

import pytest
from fastapi import FastAPI, Query
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field

from chassis import Problem, ServiceSettings, create_service_app

pytestmark = pytest.mark.unit


class OutOfBeans(Exception):
    pass


class Order(BaseModel):
    quantity: int = Field(ge=1, le=99)
    password: str = ""


def make_app() -> FastAPI:
    app = create_service_app(ServiceSettings(service_name="demo", port=1), title="demo",
                             problems={OutOfBeans: (409, "demo/out-of-beans")}, use_broker=False)

    @app.get("/v1/items/{n}")
    async def get_item(n: int, limit: int = Query(10, ge=1, le=100)) -> dict[str, int]:
        if n == 0:
            raise OutOfBeans("no beans left")
        if n == 1:
            raise RuntimeError("secret internal detail")
        if n == 2:
            raise Problem(402, "demo/pay-up", "payment needed", headers={"Retry-After": "3"})
        return {"n": n, "limit": limit}

    @app.post("/v1/orders")
    async def order(body: Order) -> dict[str, int]:
        return {"quantity": body.quantity}

    return app


@pytest.fixture
def client() -> TestClient:
    with TestClient(make_app(), raise_server_exceptions=False) as c:
        yield c  # type: ignore[misc]


def assert_problem(resp, status: int, type_suffix: str) -> dict:  # type: ignore[no-untyped-def]
    assert resp.status_code == status
    assert resp.headers["content-type"] == "application/problem+json"
    body = resp.json()
    assert body["status"] == status
    assert body["type"].endswith(type_suffix)
    assert body["title"]
    return body


def test_domain_errors_map_to_their_problem(client: TestClient) -> None:
    body = assert_problem(client.get("/v1/items/0"), 409, "demo/out-of-beans")
    assert body["detail"] == "no beans left"
    assert body["instance"] == "/v1/items/0"


def test_unexpected_errors_are_500_without_internals(client: TestClient) -> None:
    resp = client.get("/v1/items/1", headers={"X-Request-Id": "req-123"})
    body = assert_problem(resp, 500, "internal-error")
    assert "secret" not in resp.text and "Traceback" not in resp.text
    assert body["request_id"] == "req-123"


def test_problem_exceptions_keep_status_and_headers(client: TestClient) -> None:
    resp = client.get("/v1/items/2")
    assert_problem(resp, 402, "demo/pay-up")
    assert resp.headers["retry-after"] == "3"


@pytest.mark.parametrize("path", ["/v1/items/abc", "/v1/items/5?limit=0", "/v1/items/5?limit=x"])
def test_bad_parameters_are_400(client: TestClient, path: str) -> None:
    body = assert_problem(client.get(path), 400, "validation-error")
    assert body["errors"][0]["loc"][0] in ("path", "query")


def test_bad_bodies_are_422_and_never_echo_input(client: TestClient) -> None:
    resp = client.post("/v1/orders", json={"quantity": 500, "password": 123456789})
    body = assert_problem(resp, 422, "validation-error")
    assert "123456789" not in resp.text
    assert {tuple(e["loc"]) for e in body["errors"]} == {("body", "quantity"), ("body", "password")}


def test_malformed_json_is_400(client: TestClient) -> None:
    resp = client.post("/v1/orders", content=b"{not json",
                       headers={"content-type": "application/json"})
    assert_problem(resp, 400, "invalid-json")


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    assert_problem(client.get("/nowhere"), 404, "not-found")
    assert_problem(client.delete("/v1/orders"), 405, "method-not-allowed")


def test_request_id_is_generated_or_propagated(client: TestClient) -> None:
    assert client.get("/v1/items/5", headers={"X-Request-Id": "abc"}).headers["x-request-id"] == "abc"
    generated = client.get("/v1/items/5").headers["x-request-id"]
    assert len(generated) == 36
    # unsafe ids (control characters, too long) are replaced, not logged
    assert client.get("/v1/items/5", headers={"X-Request-Id": "a" * 300}).headers[
        "x-request-id"] != "a" * 300


def test_probes_and_red_metrics(client: TestClient) -> None:
    assert client.get("/health/live").json()["status"] == "alive"
    assert client.get("/health/ready").json() == {"status": "ready", "checks": {}}
    for _ in range(3):
        client.get("/v1/items/7")
    client.get("/v1/items/0")
    text = client.get("/metrics").text
    assert ('souk_http_requests_total{method="GET",route="/v1/items/{n}",service="demo",'
            'status="200"} 3.0') in text
    assert ('souk_http_requests_total{method="GET",route="/v1/items/{n}",service="demo",'
            'status="409"} 1.0') in text
    assert 'souk_http_request_duration_seconds_count{method="GET",route="/v1/items/{n}"' in text
