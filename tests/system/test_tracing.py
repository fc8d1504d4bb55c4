"""One checkout is ONE trace across every service, with parentage that follows the real causal
chain; a declined checkout's trace shows its compensation. Read back from the platform's own
trace store (services/telemetry) and through `souk trace` / `souk logs --trace`.

The keep rules run where spans are made (chassis.trace_keep): half of the traces by trace id here,
so the test sees both sides of the ratio, and every cancelled checkout whatever its id, whose spans
in other processes come through the word on NATS and the edge's through the answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import pytest

from chassis.tracing import sampled

from .checkout_platform import CHECKOUT_TOPOLOGY, Checkout, checkout_shop

pytestmark = pytest.mark.system

Span = dict[str, Any]

KEEP_RATIO = 0.5
TOPOLOGY = CHECKOUT_TOPOLOGY.replace("[platform]\n", f"""[platform]
trace_keep_ratio = {KEEP_RATIO}
trace_slow_ms = 600000
""", 1) + """
[services.telemetry]
instances = 1
database = true
"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Iterator[Checkout]:
    with checkout_shop(tmp_path_factory, "souk-tracing", TOPOLOGY, engine) as shop:
        yield shop


_ADMIN: dict[str, dict[str, str]] = {}  # platform (its gateway) -> its operator's headers


async def admin(s: aiohttp.ClientSession, shop: Checkout) -> dict[str, str]:
    """The operator's headers, signed in once per platform (the edge limits sign-ins; each
    engine's platform has its own identity and keys)."""
    if shop.gateway not in _ADMIN:
        _ADMIN[shop.gateway] = {"Authorization": f"Bearer {await shop.token(s, 'admin')}"}
    return _ADMIN[shop.gateway]


async def trace_of_order(s: aiohttp.ClientSession, shop: Checkout, order_id: str,
                         expect: Callable[[list[Span]], bool], timeout: float = 30) -> dict[str, Any]:
    """The stored trace of ``order_id`` once ``expect(spans)`` holds (spans arrive in batches)."""
    telemetry = shop.url_of("telemetry")
    headers = await admin(s, shop)
    deadline = time.monotonic() + timeout
    doc: dict[str, Any] = {}
    while time.monotonic() < deadline:
        async with s.get(f"{telemetry}/v1/traces", params={"order_id": order_id},
                         headers=headers) as r:
            assert r.status == 200, await r.text()
            found = (await r.json())["items"]
        if found:
            assert len(found) == 1, f"the checkout is split over {len(found)} traces"
            async with s.get(f"{telemetry}/v1/traces/{found[0]['trace_id']}", headers=headers) as r:
                doc = await r.json()
            spans = doc["spans"]
            ids = {sp["span_id"] for sp in spans}
            whole = all(not sp.get("parent_span_id") or sp["parent_span_id"] in ids
                        for sp in spans) and any(sp["service"] == "gateway" for sp in spans)
            if whole and expect(spans):  # every exporter's batch has arrived
                return doc
        await asyncio.sleep(0.5)
    raise AssertionError(f"trace of {order_id} incomplete: "
                         f"{sorted((sp['service'], sp['name']) for sp in doc.get('spans', []))}")


class Tree:
    def __init__(self, spans: list[Span]) -> None:
        self.spans = spans
        self.by_id = {sp["span_id"]: sp for sp in spans}

    def one(self, service: str, name: str) -> Span:
        found = [sp for sp in self.spans if sp["service"] == service and sp["name"] == name]
        assert found, f"no span {service}: {name!r}; have " + ", ".join(
            sorted(f"{sp['service']}:{sp['name']}" for sp in self.spans))
        return found[0]


async def stored_trace_id(s: aiohttp.ClientSession, shop: Checkout, order_id: str) -> str | None:
    telemetry = shop.url_of("telemetry")
    headers = await admin(s, shop)
    async with s.get(f"{telemetry}/v1/traces", params={"order_id": order_id},
                     headers=headers) as r:
        assert r.status == 200, await r.text()
        found = (await r.json())["items"]
    return found[0]["trace_id"] if found else None


def complete_happy(spans: list[Span]) -> bool:
    names = {(sp["service"], sp["name"]) for sp in spans}
    return {("notifications", "consume orders.OrderConfirmed.v1"),
            ("inventory", "consume orders.OrderConfirmed.v1"),
            ("analytics", "consume orders.OrderConfirmed.v1")} <= names


def complete_declined(spans: list[Span]) -> bool:
    return any(sp["name"] == "consume orders.OrderCancelled.v1" for sp in spans)


def events(span: Span) -> list[str]:
    return [e["name"] for e in span.get("events", [])]


async def test_one_checkout_is_one_trace_following_the_causal_chain(shop: Checkout) -> None:
    async with aiohttp.ClientSession() as s:
        shopper = await shop.shopper(s)
        placed_ids = []
        # a SKU of its own each: a confirmation clears the ordered SKUs from the cart when it
        # lands, which may be after the next checkout's fill
        skus = iter(f"{kind}-{n:04d}" for kind in ("BOK", "KIT") for n in range(1, 10))
        for n in range(16):  # each kept with probability KEEP_RATIO, by its trace id
            await shop.fill(s, shopper, next(skus), 1)
            status, order = await shop.checkout(s, shopper, f"traced-{n}")
            assert status == 201 and order["status"] == "CONFIRMED", order
            placed_ids.append(order["id"])
        # a cancelled checkout is always kept; once its trace is whole in the store, orders has
        # sent every span it kept of the checkouts before it
        await shop.fill(s, shopper, next(skus), 1)
        _, marker = await shop.checkout(s, shopper, "traced-marker", card="tok_decline")
        await trace_of_order(s, shop, marker["id"], complete_declined)
        stored = {order_id: await stored_trace_id(s, shop, order_id) for order_id in placed_ids}
        kept = {o: t for o, t in stored.items() if t is not None}
        assert kept and len(kept) < len(placed_ids), (
            f"{len(kept)} of {len(placed_ids)} traces kept at a ratio of {KEEP_RATIO}")
        assert all(sampled(t, KEEP_RATIO) for t in kept.values()), kept
        order_id = next(iter(kept))
        doc = await trace_of_order(s, shop, order_id, complete_happy)
    tree = Tree(doc["spans"])
    assert {"gateway", "orders", "cart", "inventory", "payments", "notifications",
            "analytics"} <= {sp["service"] for sp in tree.spans}
    assert len({sp["trace_id"] for sp in tree.spans}) == 1

    # one span per hop: the edge's, then each service's server or consumer span
    root = tree.one("gateway", "POST /api/v1/orders")
    assert not root.get("parent_span_id") and root["kind"] == "server"
    placed = tree.one("orders", "POST /v1/orders")
    assert placed["parent_span_id"] == root["span_id"]      # across the HTTP hop
    assert tree.one("cart", "GET /v1/internal/carts/{user_id}")["parent_span_id"] == \
        placed["span_id"]

    reserve = tree.one("inventory", "consume inventory.ReserveStock.v1")
    assert reserve["parent_span_id"] == placed["span_id"]  # through the outbox and NATS
    assert "publish inventory.ReserveStock.v1" in events(placed)
    reserved = tree.one("orders", "consume inventory.StockReserved.v1")
    assert reserved["parent_span_id"] == reserve["span_id"]
    assert "saga.authorize-capture" in events(reserved)  # capture on authorization
    authorize = tree.one("payments", "consume payments.AuthorizePayment.v1")
    assert authorize["parent_span_id"] == reserved["span_id"]
    captured = tree.one("orders", "consume payments.PaymentCaptured.v1")
    assert captured["parent_span_id"] == authorize["span_id"]
    assert "saga.confirmed" in events(captured)
    assert captured["attributes"]["souk.order_id"] == order_id
    for service in ("notifications", "inventory", "analytics", "cart"):
        assert tree.one(service, "consume orders.OrderConfirmed.v1")["parent_span_id"] == \
            captured["span_id"]

    # the terminal shows the same tree; every service's log lines of it are found by trace id
    trace_id = doc["trace_id"]
    shown = shop.souk("trace", trace_id).stdout
    for service in ("gateway", "orders", "inventory", "payments", "notifications"):
        assert service in shown
    logs = shop.souk("logs", "--trace", trace_id, "--lines", "100000").stdout
    logged = {line.split()[1] for line in logs.splitlines() if len(line.split()) > 1}
    assert {"orders-1", "notifications-1"} <= logged, logs[-2000:]
    assert "order placed" in logs and "order confirmed" in logs


async def test_a_declined_checkouts_trace_is_kept_whole_and_shows_its_compensation(
        shop: Checkout) -> None:
    async with aiohttp.ClientSession() as s:
        shopper = await shop.shopper(s)
        for n in range(12):  # until one's trace id is outside the ratio: kept by word alone
            await shop.fill(s, shopper, "BOK-0008", 1)
            _, order = await shop.checkout(s, shopper, f"declined-{n}", card="tok_decline")
            assert order["status"] == "CANCELLED", order
            doc = await trace_of_order(s, shop, order["id"], complete_declined)
            if not sampled(doc["trace_id"], KEEP_RATIO):
                break
        else:
            raise AssertionError("12 traces in a row within a ratio of 0.5")
    tree = Tree(doc["spans"])
    # whole: the edge's span (told by orders' answer) and the other services' (told on NATS)
    root = tree.one("gateway", "POST /api/v1/orders")
    assert not root.get("parent_span_id")
    declined = tree.one("orders", "consume payments.PaymentDeclined.v1")
    assert "saga.compensate.release" in events(declined)
    assert declined["attributes"]["souk.order_id"] == order["id"]
    release = tree.one("inventory", "consume inventory.ReleaseStock.v1")
    assert release["parent_span_id"] == declined["span_id"]
    released = tree.one("orders", "consume inventory.StockReleased.v1")
    assert released["parent_span_id"] == release["span_id"]
    assert "saga.cancelled" in events(released) and released["attributes"]["souk.keep"] is True
    assert tree.one("notifications", "consume orders.OrderCancelled.v1")["parent_span_id"] == \
        released["span_id"]
    shop.verify()
