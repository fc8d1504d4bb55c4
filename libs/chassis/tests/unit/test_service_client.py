"""The service client's policy on a fake transport and an injected clock: no sockets, no sleeping."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import orjson
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from chassis.http import (
    DEADLINE_HEADER,
    BulkheadFull,
    CircuitBreaker,
    CircuitOpen,
    ClientPolicy,
    ConnectFailed,
    IdentityUnavailable,
    NoHealthyInstance,
    RawResponse,
    RetryBudget,
    SendFailed,
    ServiceClient,
    StaticDirectory,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
    current_deadline,
    deadline_from_headers,
)

pytestmark = pytest.mark.unit

Answer = RawResponse | Exception | Callable[[], RawResponse]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Sent:
    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes | None
    timeout: float


@dataclass
class FakeTransport:
    """Answers from a script per URL prefix (the last answer repeats)."""

    script: dict[str, list[Answer]] = field(default_factory=dict)
    sent: list[Sent] = field(default_factory=list)
    gate: asyncio.Event | None = None

    async def send(self, method: str, url: str, *, headers: Mapping[str, str], body: bytes | None,
                   timeout: float) -> RawResponse:
        self.sent.append(Sent(method, url, dict(headers), body, timeout))
        if self.gate is not None:
            await self.gate.wait()
        base = next(k for k in self.script if url.startswith(k))
        answers = self.script[base]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer() if callable(answer) else answer


class Tokens:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail

    async def authorization(self) -> dict[str, str]:
        if self.fail:
            raise ConnectionError("identity is down")
        return {"Authorization": "Bearer svc-token"}


def ok(doc: object = None, status: int = 200) -> RawResponse:
    return RawResponse(status, {}, orjson.dumps(doc if doc is not None else {"ok": True}))


def problem(status: int, slug: str = "x") -> RawResponse:
    return RawResponse(status, {}, orjson.dumps({"type": slug, "title": "t", "status": status,
                                                 "detail": f"{slug} happened"}))


def client(transport: FakeTransport, *, urls: Mapping[str, object] | None = None,
           clock: Clock | None = None, registry: CollectorRegistry | None = None,
           tokens: Tokens | None = None, **policy: object) -> ServiceClient:
    clock = clock or Clock()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    options: dict[str, object] = {"breaker": lambda: CircuitBreaker(clock=clock),
                                  "budget": lambda: RetryBudget(clock=clock)}
    options.update(policy)
    c = ServiceClient(transport, StaticDirectory(urls or {"catalog": "http://a"}),  # type: ignore[arg-type]
                      service="cart", tokens=tokens or Tokens(), registry=registry,
                      policy=ClientPolicy(**options),  # type: ignore[arg-type]
                      clock=clock, wall=lambda: clock.now, sleep=sleep, rand=lambda: 1.0)
    c.slept = slept  # type: ignore[attr-defined]
    return c


async def test_a_2xx_answer_is_returned_with_identity_deadline_and_json_body() -> None:
    transport = FakeTransport({"http://a": [ok({"prices": {}})]})
    c = client(transport, deadline=3.0)
    resp = await c.post("catalog", "/v1/internal/prices", json={"skus": ["A"]}, idempotent=True)
    assert resp.json() == {"prices": {}}
    sent = transport.sent[0]
    assert (sent.method, sent.url) == ("POST", "http://a/v1/internal/prices")
    assert sent.headers["Authorization"] == "Bearer svc-token"
    assert sent.headers["Content-Type"] == "application/json"
    assert orjson.loads(sent.body or b"") == {"skus": ["A"]}
    assert deadline_from_headers(sent.headers) == pytest.approx(1003.0)
    assert sent.headers[DEADLINE_HEADER] == "1003000"


async def test_a_call_on_a_users_behalf_carries_their_token_instead_of_the_services() -> None:
    transport = FakeTransport({"http://a": [ok({"items": []})]})
    await client(transport).get("catalog", "/v1/cart", on_behalf_of="user-token")
    assert transport.sent[0].headers["Authorization"] == "Bearer user-token"


async def test_the_callers_shorter_deadline_wins_and_bounds_the_attempt_timeout() -> None:
    transport = FakeTransport({"http://a": [ok()]})
    c = client(transport, deadline=5.0, attempt_timeout=2.0)
    await c.get("catalog", "/x", deadline=1000.5)
    assert transport.sent[0].headers[DEADLINE_HEADER] == "1000500"
    assert transport.sent[0].timeout == pytest.approx(0.5)


async def test_a_call_inherits_the_deadline_of_the_request_being_handled() -> None:
    transport = FakeTransport({"http://a": [ok()]})
    c = client(transport, deadline=5.0, attempt_timeout=2.0)
    token = current_deadline.set(1000.25)  # as the web layer sets it from X-Souk-Deadline
    try:
        await c.get("catalog", "/x")
        with pytest.raises(UpstreamTimeout):  # and once it has passed, nothing is sent
            current_deadline.set(999.0)
            await c.get("catalog", "/x")
    finally:
        current_deadline.reset(token)
    assert len(transport.sent) == 1
    assert transport.sent[0].headers[DEADLINE_HEADER] == "1000250"
    assert transport.sent[0].timeout == pytest.approx(0.25)


async def test_a_passed_deadline_sends_nothing() -> None:
    transport = FakeTransport({"http://a": [ok()]})
    with pytest.raises(UpstreamTimeout):
        await client(transport).get("catalog", "/x", deadline=999.0)
    assert transport.sent == []


async def test_an_idempotent_call_is_retried_after_503_with_jittered_backoff() -> None:
    transport = FakeTransport({"http://a": [problem(503), problem(503), ok()]})
    c = client(transport, backoff_base=0.1)
    assert (await c.get("catalog", "/x")).status == 200
    assert len(transport.sent) == 3
    assert c.slept == [pytest.approx(0.1), pytest.approx(0.2)]  # type: ignore[attr-defined]


async def test_a_non_idempotent_call_is_not_retried() -> None:
    transport = FakeTransport({"http://a": [problem(503), ok()]})
    with pytest.raises(UpstreamError) as caught:
        await client(transport).post("catalog", "/orders", json={})
    assert caught.value.status == 503
    assert len(transport.sent) == 1


async def test_a_reset_and_a_timeout_are_retried_only_when_idempotent() -> None:
    transport = FakeTransport({"http://a": [SendFailed("reset"), TimeoutError(), ok()]})
    assert (await client(transport).post("catalog", "/p", json={}, idempotent=True)).status == 200
    transport = FakeTransport({"http://a": [TimeoutError(), ok()]})
    with pytest.raises(UpstreamTimeout):
        await client(transport).post("catalog", "/p", json={})


async def test_a_4xx_answer_is_an_upstream_error_with_the_problem_and_no_retry() -> None:
    transport = FakeTransport({"http://a": [problem(404, "catalog/product-not-found")]})
    with pytest.raises(UpstreamError) as caught:
        await client(transport).get("catalog", "/x")
    assert caught.value.status == 404
    assert caught.value.problem["type"] == "catalog/product-not-found"
    assert len(transport.sent) == 1


async def test_a_refused_instance_is_skipped_at_once_for_any_method() -> None:
    transport = FakeTransport({"http://a": [ConnectFailed("refused")], "http://b": [ok()]})
    c = client(transport, urls={"catalog": ["http://a", "http://b"]})
    assert (await c.post("catalog", "/orders", json={})).status == 200
    assert [s.url for s in transport.sent] == ["http://a/orders", "http://b/orders"]
    assert c.slept == []  # type: ignore[attr-defined]


async def test_every_instance_refusing_is_upstream_unavailable() -> None:
    transport = FakeTransport({"http://a": [ConnectFailed("refused")]})
    with pytest.raises(UpstreamUnavailable, match="refused"):
        await client(transport).get("catalog", "/x")


async def test_an_unknown_service_has_no_healthy_instance() -> None:
    with pytest.raises(NoHealthyInstance):
        await client(FakeTransport()).get("orders", "/x")


async def test_retries_stop_when_the_budget_is_spent() -> None:
    clock = Clock()
    transport = FakeTransport({"http://a": [problem(503)]})
    c = client(transport, clock=clock, max_retries=5,
               budget=lambda: RetryBudget(ratio=0.0, min_retries=2, clock=clock),
               breaker=lambda: CircuitBreaker(min_calls=1000, window=1000, clock=clock))
    with pytest.raises(UpstreamError):
        await c.get("catalog", "/x")
    assert len(transport.sent) == 3  # the first attempt and the two retries the budget allows
    with pytest.raises(UpstreamError):
        await c.get("catalog", "/x")
    assert len(transport.sent) == 4  # budget spent: no retry at all


async def test_the_breaker_opens_after_failures_and_fails_fast_until_a_probe_succeeds() -> None:
    clock = Clock()
    registry = CollectorRegistry()
    transport = FakeTransport({"http://a": [problem(500)] * 4 + [ok()]})
    c = client(transport, clock=clock, registry=registry, max_retries=0,
               breaker=lambda: CircuitBreaker(window=4, min_calls=4, open_seconds=2.0, probes=1,
                                              clock=clock))
    for _ in range(4):
        with pytest.raises(UpstreamError):
            await c.get("catalog", "/x")
    assert b'souk_breaker_state{service="cart",upstream="catalog"} 2.0' in generate_latest(registry)
    with pytest.raises(CircuitOpen) as caught:
        await c.get("catalog", "/x")
    assert caught.value.retry_after == pytest.approx(2.0)
    assert len(transport.sent) == 4  # refused without being sent
    clock.now += 2.0
    assert (await c.get("catalog", "/x")).status == 200
    text = generate_latest(registry)
    assert b'souk_breaker_state{service="cart",upstream="catalog"} 0.0' in text
    assert b'souk_client_calls_total{outcome="circuit_open",service="cart",upstream="catalog"} 1.0' in text


async def test_an_answer_for_a_failed_service_further_on_opens_no_breaker_and_is_not_retried(
        ) -> None:
    """A 503 with Proxy-Status: the upstream is healthy, a service behind it is not. Counting it
    opened the upstream's breaker, and its calls that need nothing of the failed one failed."""
    clock = Clock()
    further_on = RawResponse(503, {"proxy-status": 'cart; error=destination_unavailable; '
                                                   'next-hop="catalog"'},
                             orjson.dumps({"type": "x", "status": 503}))
    transport = FakeTransport({"http://a": [further_on] * 6 + [ok()]})
    c = client(transport, clock=clock,
               breaker=lambda: CircuitBreaker(window=4, min_calls=4, open_seconds=2.0, probes=1,
                                              clock=clock))
    for _ in range(6):
        with pytest.raises(UpstreamError) as caught:
            await c.get("catalog", "/x")  # idempotent: a plain 503 would be retried
        assert caught.value.status == 503
    assert len(transport.sent) == 6  # one attempt each, no retry
    assert (await c.get("catalog", "/x")).status == 200  # the breaker stayed closed


async def test_the_bulkhead_fails_fast_past_the_in_flight_limit() -> None:
    gate = asyncio.Event()
    transport = FakeTransport({"http://a": [ok()]}, gate=gate)
    c = client(transport, max_in_flight=2)
    running = [asyncio.create_task(c.get("catalog", "/x")) for _ in range(2)]
    await asyncio.sleep(0)
    with pytest.raises(BulkheadFull):
        await c.get("catalog", "/x")
    gate.set()
    assert [r.status for r in await asyncio.gather(*running)] == [200, 200]
    assert (await c.get("catalog", "/x")).status == 200  # slots were given back


async def test_no_service_token_means_no_call() -> None:
    transport = FakeTransport({"http://a": [ok()]})
    with pytest.raises(IdentityUnavailable):
        await client(transport, tokens=Tokens(fail=True)).get("catalog", "/x")
    assert transport.sent == []


async def test_a_call_pinned_to_an_instance_goes_there_only() -> None:
    transport = FakeTransport({"http://a": [ok()], "http://b": [ok()], "http://c": [ok()]})
    c = client(transport, urls={"catalog": ["http://a", "http://b", "http://c"]})
    for _ in range(3):
        await c.get("catalog", "/metrics", instance="catalog-1")
    assert [s.url for s in transport.sent] == ["http://b/metrics"] * 3
    with pytest.raises(NoHealthyInstance):
        await c.get("catalog", "/metrics", instance="catalog-9")


async def test_a_pinned_call_that_is_refused_tries_no_other_instance() -> None:
    transport = FakeTransport({"http://a": [ok()], "http://b": [ConnectFailed("refused")]})
    c = client(transport, urls={"catalog": ["http://a", "http://b"]})
    with pytest.raises(UpstreamUnavailable):
        await c.get("catalog", "/metrics", instance="catalog-1")
    assert [s.url for s in transport.sent] == ["http://b/metrics"]


async def test_a_call_pinned_to_an_instance_the_registry_listed_finds_it_beside_a_fixed_url() -> None:
    """A service reached by a fixed name (a Kubernetes Service) still has the instances the
    registry lists: the console reads each one's /metrics by its id."""
    transport = FakeTransport({"http://svc": [ok()], "http://pod-2": [ok(), ok()]})
    listed = StaticDirectory({"catalog": ["http://pod-1", "http://pod-2"]})  # the registry's view
    c = ServiceClient(transport, StaticDirectory({"catalog": "http://svc"}, fallback=listed),  # type: ignore[arg-type]
                      service="web", tokens=Tokens(), policy=ClientPolicy(), rand=lambda: 1.0)
    await c.get("catalog", "/metrics", instance="catalog-1")
    await c.get("catalog", "/v1/x")  # an unpinned call still goes to the fixed name
    assert [s.url for s in transport.sent] == ["http://pod-2/metrics", "http://svc/v1/x"]
    with pytest.raises(NoHealthyInstance):
        await c.get("catalog", "/metrics", instance="catalog-7")


async def test_a_call_for_a_client_carries_its_address_with_this_services_proof() -> None:
    """A front end signing its visitor in: identity's throttles are to count the visitor, not
    the front end (one visitor's failures locked every shopper out)."""
    transport = FakeTransport({"http://a": [ok(), ok()]})
    c = client(transport)
    await c.post("catalog", "/v1/login", json={}, for_client="203.0.113.7")
    await c.get("catalog", "/v1/me", on_behalf_of="user-token", for_client="203.0.113.7")
    first, second = (sent.headers for sent in transport.sent)
    assert first["X-Forwarded-For"] == "203.0.113.7"
    assert first["X-Souk-Edge-Token"] == "svc-token" and first["Authorization"] == "Bearer svc-token"
    assert second["Authorization"] == "Bearer user-token"  # the user's, the proof still ours
    assert second["X-Souk-Edge-Token"] == "svc-token"
    plain = FakeTransport({"http://a": [ok()]})
    await client(plain).get("catalog", "/v1/x")
    assert "X-Forwarded-For" not in plain.sent[0].headers
    assert "X-Souk-Edge-Token" not in plain.sent[0].headers
