"""Failing upstreams over real sockets: passive ejection, the circuit breaker, retries within
their budget and the deadline, and which methods may be retried at all."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"
TYPES = "https://souk.dev/problems/"
FLAKY = "/api/v1/catalog/flaky"

# isolate one mechanism at a time: a breaker that needs many calls, ejection that needs many 5xx
LENIENT = {"breaker_window": 1000, "breaker_min_calls": 1000, "eject_after_5xx": 1000}


async def call(client: Any, url: str, method: str = "GET",
               headers: dict[str, str] | None = None) -> int:
    async with client.request(method, url, data=b"x" if method != "GET" else None,
                              headers=headers) as resp:
        await resp.read()
        return int(resp.status)


async def metrics(client: Any, gateway: str) -> str:
    async with client.get(f"{gateway}/metrics") as resp:
        return str(await resp.text())


async def test_an_instance_answering_5xx_is_ejected_after_n_in_a_row(
        start_upstream: Any, start_gateway: Any, client: Any, discovery: Any,
        signals: Any) -> None:
    await start_upstream("good")
    await start_upstream("bad")
    signals.faults["bad"] = 500
    gateway = await start_gateway(eject_after_5xx=3, eject_seconds=30)
    seen = [await call(client, gateway + FLAKY) for _ in range(16)]
    assert seen.count(500) == 3  # round robin: bad answered every other call until ejected
    assert seen[-8:] == [200] * 8
    assert discovery.ejections == ["bad"]
    assert signals.hits["bad"] == 3
    text = await metrics(client, gateway)
    assert ('souk_gateway_ejections_total{reason="consecutive_5xx",service="catalog"} 1.0'
            in text)
    assert 'souk_gateway_breaker_state{service="catalog"} 0.0' in text  # one bad instance


async def test_the_breaker_opens_when_every_instance_fails_and_recovers(
        start_upstream: Any, start_gateway: Any, client: Any, signals: Any) -> None:
    await start_upstream("one")
    await start_upstream("two")
    signals.faults.update(one=500, two=500)
    gateway = await start_gateway(breaker_window=10, breaker_min_calls=4,
                                  breaker_open_seconds=0.5, breaker_half_open_probes=1,
                                  eject_after_5xx=1000)
    assert [await call(client, gateway + FLAKY) for _ in range(4)] == [500] * 4
    hits = sum(signals.hits.values())
    started = time.monotonic()
    for _ in range(5):  # open: nothing reaches the service, every call fails fast
        async with client.get(gateway + FLAKY) as resp:
            assert resp.status == 503
            assert resp.content_type == PROBLEM
            assert resp.headers["Retry-After"] == "1"
            doc = await resp.json(content_type=PROBLEM)
        assert doc["type"] == TYPES + "gateway/circuit-open"
    assert time.monotonic() - started < 0.4
    assert sum(signals.hits.values()) == hits
    assert 'souk_gateway_breaker_state{service="catalog"} 2.0' in await metrics(client, gateway)
    signals.faults.clear()  # the service recovers
    await asyncio.sleep(0.55)
    assert await call(client, gateway + FLAKY) == 200  # the half-open probe
    assert [await call(client, gateway + FLAKY) for _ in range(6)] == [200] * 6
    text = await metrics(client, gateway)
    assert 'souk_gateway_breaker_state{service="catalog"} 0.0' in text
    assert 'souk_gateway_breaker_rejections_total{service="catalog"} 5.0' in text


async def test_a_service_whose_own_upstream_failed_keeps_its_breaker_closed(
        start_upstream: Any, start_gateway: Any, client: Any, discovery: Any,
        signals: Any) -> None:
    """Its 503s say a service behind it failed (Proxy-Status): counted, they opened the
    breaker of a healthy service and its other routes failed too. Not retried either (another
    instance meets the same failure), not shed, and the header stays inside."""
    await start_upstream("one")
    await start_upstream("two")
    gateway = await start_gateway(breaker_window=10, breaker_min_calls=4,
                                  breaker_open_seconds=5, breaker_half_open_probes=1,
                                  eject_after_5xx=2)
    echoed: list[str] = []
    for _ in range(8):  # GETs: a plain 503 would be retried on the other instance
        async with client.get(gateway + "/api/v1/catalog/echo?status=503&further_on=1") as resp:
            assert resp.status == 503 and "Proxy-Status" not in resp.headers
            echoed.append((await resp.json())["instance"])
    assert sorted(echoed) == ["one"] * 4 + ["two"] * 4  # one attempt each, both kept
    assert [await call(client, gateway + FLAKY) for _ in range(4)] == [200] * 4
    text = await metrics(client, gateway)
    assert 'souk_gateway_breaker_state{service="catalog"} 0.0' in text
    assert discovery.ejections == []
    retries = [line for line in text.splitlines() if line.startswith("souk_gateway_retries_total{")]
    assert retries and all(line.endswith(" 0.0") for line in retries)  # every one at 0


async def test_a_failed_probe_keeps_the_breaker_open(
        start_upstream: Any, start_gateway: Any, client: Any, signals: Any) -> None:
    await start_upstream("one")
    signals.faults["one"] = 503
    gateway = await start_gateway(breaker_window=4, breaker_min_calls=2,
                                  breaker_open_seconds=0.3, breaker_half_open_probes=1,
                                  max_retries=0, eject_after_5xx=1000)
    assert [await call(client, gateway + FLAKY) for _ in range(3)] == [503, 503, 503]
    assert signals.hits["one"] == 2  # the third failed fast
    await asyncio.sleep(0.35)
    assert await call(client, gateway + FLAKY) == 503  # the probe, and it failed
    assert signals.hits["one"] == 3
    assert await call(client, gateway + FLAKY) == 503
    assert signals.hits["one"] == 3  # open again: no further call went through


async def test_only_the_probe_decides_a_half_open_breaker(
        start_upstream: Any, start_gateway: Any, client: Any, signals: Any) -> None:
    # issue 10 item 18: a call let through while the breaker was closed and answered while it is
    # half-open must neither close it nor take the place of the probe
    await start_upstream("one")
    gateway = await start_gateway(breaker_window=10, breaker_min_calls=4,
                                  breaker_open_seconds=0.3, breaker_half_open_probes=1,
                                  max_retries=0, eject_after_5xx=1000)
    late = asyncio.ensure_future(call(client, f"{gateway}/api/v1/catalog/slow?seconds=2.5"))
    deadline = time.monotonic() + 5
    while signals.hits["slow"] == 0:  # admitted while closed
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    signals.faults["one"] = 500
    assert [await call(client, gateway + FLAKY) for _ in range(4)] == [500] * 4  # opens
    signals.faults.clear()
    signals.delays["one"] = 4.0  # the probe is still out when the late call answers
    await asyncio.sleep(0.35)
    probe = asyncio.ensure_future(call(client, gateway + FLAKY))
    while signals.hits["one"] < 5:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.01)
    assert not late.done()  # the probe went out before the late call answered
    assert await late == 200
    text = await metrics(client, gateway)
    assert 'souk_gateway_breaker_state{service="catalog"} 1.0' in text  # still half-open
    assert await call(client, gateway + FLAKY) == 503  # and its one probe is still out
    assert await probe == 200
    assert 'souk_gateway_breaker_state{service="catalog"} 0.0' in await metrics(client, gateway)


async def test_a_long_poll_that_waited_as_asked_is_no_slow_call(
        start_upstream: Any, start_gateway: Any, client: Any) -> None:
    """A checkout with `Prefer: wait` takes as long as its saga: counted slow, such answers kept
    the breaker on orders open while the services behind it restarted (a probe that waited was
    a slow probe), and the checkouts got 503 circuit-open for longer than they retried."""
    await start_upstream("one")
    gateway = await start_gateway(breaker_window=4, breaker_min_calls=2,
                                  breaker_slow_seconds=0.2, breaker_slow_ratio=0.5,
                                  breaker_open_seconds=5, max_retries=0, eject_after_5xx=1000)
    waited = f"{gateway}/api/v1/catalog/slow?seconds=0.3&waited=1"
    assert [await call(client, waited) for _ in range(4)] == [200] * 4
    assert 'souk_gateway_breaker_state{service="catalog"} 0.0' in await metrics(client, gateway)
    slow = f"{gateway}/api/v1/catalog/slow?seconds=0.3"
    assert [await call(client, slow) for _ in range(2)] == [200] * 2
    assert 'souk_gateway_breaker_state{service="catalog"} 2.0' in await metrics(client, gateway)


@pytest.mark.parametrize("status", [502, 503])
async def test_an_idempotent_get_is_retried_with_backoff(
        start_upstream: Any, start_gateway: Any, client: Any, signals: Any, status: int) -> None:
    await start_upstream("one")
    signals.faults["one"] = status
    signals.fail_times["one"] = 2  # fails twice, then answers
    gateway = await start_gateway(retry_base_delay=0.05, **LENIENT)
    assert await call(client, gateway + FLAKY) == 200
    assert signals.hits["one"] == 3
    assert ('souk_gateway_retries_total{reason="status",service="catalog"} 2.0'
            in await metrics(client, gateway))


async def test_a_get_is_retried_on_another_instance_after_a_connection_reset(
        start_upstream: Any, start_resetter: Any, start_gateway: Any, client: Any,
        signals: Any) -> None:
    await start_resetter("resetter")
    await start_upstream("good")
    gateway = await start_gateway(**LENIENT)
    assert [await call(client, gateway + FLAKY) for _ in range(4)] == [200] * 4
    assert signals.hits["good"] == 4  # each call answered once, by "good"
    assert 1 <= signals.hits["resetter"] <= 4  # and each reset retried once, elsewhere


async def test_a_post_is_never_retried_once_sent(
        start_upstream: Any, start_resetter: Any, start_gateway: Any, client: Any,
        signals: Any) -> None:
    await start_resetter("resetter")
    gateway = await start_gateway(**LENIENT)
    assert await call(client, gateway + FLAKY, "POST") == 502
    assert signals.hits["resetter"] == 1
    assert await call(client, gateway + FLAKY, "GET") == 502  # a GET is, up to max_retries
    assert signals.hits["resetter"] == 4


async def test_a_post_answered_503_is_relayed_not_retried(
        start_upstream: Any, start_gateway: Any, client: Any, signals: Any) -> None:
    await start_upstream("one")
    signals.faults["one"] = 503
    gateway = await start_gateway(**LENIENT)
    assert await call(client, gateway + FLAKY, "POST") == 503
    assert await call(client, gateway + FLAKY, "PATCH") == 503
    assert signals.hits["one"] == 2
    assert await call(client, gateway + FLAKY, "PUT") == 503  # idempotent: 1 + 2 retries
    assert signals.hits["one"] == 5


async def test_a_post_with_an_idempotency_key_is_retried_on_another_instance_after_a_reset(
        start_upstream: Any, start_resetter: Any, start_gateway: Any, client: Any,
        signals: Any) -> None:
    # safe to repeat: the service answers the same key with the first request's result
    await start_resetter("resetter")
    await start_upstream("good")
    gateway = await start_gateway(**LENIENT)
    keyed = {"Idempotency-Key": "checkout-1"}
    assert [await call(client, gateway + FLAKY, "POST", keyed) for _ in range(4)] == [200] * 4
    assert signals.hits["good"] == 4 and 1 <= signals.hits["resetter"] <= 4


async def test_a_post_with_an_idempotency_key_answered_503_is_retried(
        start_upstream: Any, start_gateway: Any, client: Any, signals: Any) -> None:
    await start_upstream("one")
    signals.faults["one"] = 503
    signals.fail_times["one"] = 1  # a dying instance's last answer
    gateway = await start_gateway(retry_base_delay=0.01, **LENIENT)
    assert await call(client, gateway + FLAKY, "POST", {"Idempotency-Key": "k-503"}) == 200
    assert signals.hits["one"] == 2
    signals.fail_times["one"] = 1
    assert await call(client, gateway + FLAKY, "POST", {"Idempotency-Key": ""}) == 503  # no key


async def test_retries_never_exceed_the_budget(
        start_upstream: Any, start_gateway: Any, client: Any, signals: Any) -> None:
    await start_upstream("one")
    await start_upstream("two")
    signals.faults.update(one=503, two=503)
    gateway = await start_gateway(retry_budget_ratio=0.2, retry_budget_min=2,
                                  retry_base_delay=0.0, **LENIENT)
    requests = 30
    assert [await call(client, gateway + FLAKY) for _ in range(requests)] == [503] * requests
    attempts = sum(signals.hits.values())
    budget = 2 + 0.2 * requests
    assert requests < attempts <= requests + budget
    text = await metrics(client, gateway)
    assert 'souk_gateway_retries_total{reason="budget_exhausted",service="catalog"}' in text


async def test_retries_stay_within_the_deadline(
        start_upstream: Any, start_gateway: Any, client: Any, signals: Any) -> None:
    await start_upstream("one")
    signals.faults["one"] = 503
    signals.delays["one"] = 0.8  # each failure takes 0.8 s; the route allows 2 s in all
    gateway = await start_gateway(retry_base_delay=0.0, **LENIENT)
    started = time.monotonic()
    status = await call(client, gateway + "/api/v1/private/flaky")
    elapsed = time.monotonic() - started
    assert signals.hits["one"] == 3  # 0.8 + 0.8, and the third is cut off at the deadline
    assert status == 504
    assert 1.9 <= elapsed < 2.6


async def test_a_slow_upstream_is_504_at_the_deadline_with_the_deadline_sent_down(
        start_upstream: Any, start_gateway: Any, client: Any) -> None:
    await start_upstream("one")
    gateway = await start_gateway(**LENIENT)
    started = time.monotonic()
    async with client.get(f"{gateway}/api/v1/slow?seconds=2") as resp:
        assert resp.status == 504
        doc = await resp.json(content_type=PROBLEM)
    assert doc["type"] == TYPES + "gateway/upstream-timeout"
    assert 0.25 <= time.monotonic() - started < 0.9  # the route's 0.3 s, retries included


async def test_a_saturated_service_gets_503_at_once_and_nothing_is_forwarded(
        start_upstream: Any, start_gateway: Any, client: Any, signals: Any) -> None:
    await start_upstream("one")
    await start_upstream("two")
    gateway = await start_gateway(max_outstanding_per_instance=2)  # 2 instances: 4 in all
    held = [asyncio.create_task(call(client, gateway + "/api/v1/catalog/held"))
            for _ in range(4)]
    while len(signals.held) < 4:
        await asyncio.sleep(0.01)
    async with client.get(gateway + "/api/v1/catalog/held") as resp:
        assert resp.status == 503 and resp.headers["Retry-After"] == "1"
        doc = await resp.json(content_type=PROBLEM)
    assert doc["type"] == TYPES + "gateway/upstream-saturated" and doc["service"] == "catalog"
    assert len(signals.held) == 4  # never forwarded
    assert await call(client, gateway + "/health/ready") == 200  # the gateway's own: not capped
    signals.release_held.set()
    assert await asyncio.gather(*held) == [200] * 4
    assert await call(client, gateway + "/api/v1/catalog/held") == 200  # released on answer
    assert ('souk_gateway_saturated_rejections_total{service="catalog"} 1.0'
            in await metrics(client, gateway))


async def test_the_outstanding_cap_changes_at_run_time_and_zero_turns_it_off(
        start_upstream: Any, start_gateway: Any, client: Any, signals: Any,
        discovery: Any) -> None:
    from gateway.app import Gateway

    await start_upstream("one")
    gateway = await start_gateway(max_outstanding_per_instance=0)
    app: Gateway = start_gateway.apps[-1]
    held = [asyncio.create_task(call(client, gateway + "/api/v1/catalog/held"))
            for _ in range(5)]
    while len(signals.held) < 5:
        await asyncio.sleep(0.01)
    app.set_max_outstanding(5)
    assert await call(client, gateway + "/api/v1/catalog/held") == 503
    signals.release_held.set()
    assert await asyncio.gather(*held) == [200] * 5


async def test_a_503_with_retry_after_is_relayed_not_retried_nor_a_failure(
        start_upstream: Any, start_gateway: Any, client: Any, signals: Any,
        discovery: Any) -> None:
    await start_upstream("one")
    signals.faults["one"] = 503
    signals.retry_after.add("one")  # shedding load: busy, says when to come back
    gateway = await start_gateway(retry_base_delay=0.0, breaker_window=10, breaker_min_calls=4,
                                  eject_after_5xx=3)
    assert [await call(client, gateway + FLAKY) for _ in range(12)] == [503] * 12
    assert signals.hits["one"] == 12  # each relayed once: no retry, no open breaker
    assert discovery.ejections == []
    assert 'souk_gateway_breaker_state{service="catalog"} 0.0' in await metrics(client, gateway)


@pytest.mark.parametrize("settings", [LENIENT, {}], ids=["budget-alone", "shipped-defaults"])
async def test_retries_cannot_amplify_a_storm_on_an_upstream_failing_every_call(
        start_upstream: Any, start_gateway: Any, client: Any, signals: Any,
        settings: dict[str, int]) -> None:
    await start_upstream("one")
    signals.faults["one"] = 503  # no Retry-After: retryable
    gateway = await start_gateway(retry_base_delay=0.0, **settings)
    calls = 300
    statuses = await asyncio.gather(*(call(client, gateway + FLAKY) for _ in range(calls)))
    assert set(statuses) == {503}
    assert signals.hits["one"] <= 1.2 * calls


async def test_a_service_shedding_load_is_spared_the_like_of_it_at_the_edge(
        start_upstream: Any, start_gateway: Any, client: Any, signals: Any) -> None:
    await start_upstream("one")
    gateway = await start_gateway(**LENIENT)
    held = [asyncio.create_task(call(client, gateway + "/api/v1/catalog/held"))
            for _ in range(3)]
    while len(signals.held) < 3:
        await asyncio.sleep(0.01)
    signals.faults["one"] = 503
    signals.retry_after.add("one")  # the service is full: it sheds with 3 others in flight
    assert await call(client, gateway + FLAKY) == 503
    assert signals.hits["one"] == 1
    async with client.get(gateway + FLAKY) as resp:  # refused at the edge, not forwarded
        doc = await resp.json(content_type=PROBLEM)
    assert (resp.status, doc["type"]) == (503, TYPES + "gateway/upstream-saturated")
    assert signals.hits["one"] == 1
    assert await call(client, gateway + FLAKY, "POST") == 503  # another kind: still asked
    assert signals.hits["one"] == 2
    signals.release_held.set()
    await asyncio.gather(*held)
    signals.faults.clear()
    assert await call(client, gateway + FLAKY) == 200  # fewer outstanding: asked again
