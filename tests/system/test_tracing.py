"""One checkout is ONE trace across every service, with parentage that follows the real causal
chain; a declined checkout's trace shows its compensation. Read back from the platform's own
trace store (services/telemetry) and through `souk trace` / `souk logs --trace`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import pytest

from chassis.testing import free_port

from .checkout_platform import CHECKOUT_TOPOLOGY, Checkout
from .conftest import launch

pytestmark = pytest.mark.system

Span = dict[str, Any]

TOPOLOGY = CHECKOUT_TOPOLOGY + """
[services.telemetry]
instances = 1
database = true
"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Checkout]:
    home = tmp_path_factory.mktemp("souk-tracing")
    port = free_port()
    with launch(home, TOPOLOGY.format(gateway_port=port), port) as plat:
        yield Checkout(plat)


async def trace_of_order(s: aiohttp.ClientSession, shop: Checkout, order_id: str,
                         expect: Callable[[list[Span]], bool], timeout: float = 30) -> dict[str, Any]:
    """The stored trace of ``order_id`` once ``expect(spans)`` holds (spans arrive in batches)."""
    telemetry = shop.url_of("telemetry")
    headers = {"Authorization": f"Bearer {await shop.token(s, 'admin')}"}
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

    def ancestors(self, span: Span) -> list[Span]:
        chain = []
        while span.get("parent_span_id"):
            span = self.by_id[span["parent_span_id"]]
            chain.append(span)
        return chain

    def assert_under(self, child: Span, ancestor: Span) -> None:
        chain = self.ancestors(child)
        names = [f"{sp['service']}:{sp['name']}" for sp in chain]
        assert ancestor["span_id"] in [sp["span_id"] for sp in chain], (
            f"{child['service']}:{child['name']} is not under {ancestor['service']}:"
            f"{ancestor['name']}; its chain: {names}")


def complete_happy(spans: list[Span]) -> bool:
    names = {(sp["service"], sp["name"]) for sp in spans}
    return {("notifications", "consume orders.OrderConfirmed.v1"),
            ("inventory", "consume orders.OrderConfirmed.v1"),
            ("analytics", "consume orders.OrderConfirmed.v1")} <= names


async def test_one_checkout_is_one_trace_following_the_causal_chain(shop: Checkout) -> None:
    async with aiohttp.ClientSession() as s:
        shopper = await shop.shopper(s)
        await shop.fill(s, shopper, "BOK-0008", 1)
        status, order = await shop.checkout(s, shopper, "traced-1")
        assert status == 201 and order["status"] == "CONFIRMED"
        doc = await trace_of_order(s, shop, order["id"], complete_happy)
    tree = Tree(doc["spans"])
    assert {"gateway", "orders", "cart", "inventory", "payments", "notifications",
            "analytics"} <= {sp["service"] for sp in tree.spans}
    assert len({sp["trace_id"] for sp in tree.spans}) == 1

    root = tree.one("gateway", "POST /api/v1/orders")
    assert not root.get("parent_span_id") and root["kind"] == "server"
    edge_call = tree.one("gateway", "POST orders")
    placed = tree.one("orders", "POST /v1/orders")
    assert edge_call["parent_span_id"] == root["span_id"]
    assert placed["parent_span_id"] == edge_call["span_id"]      # across the HTTP hop
    cart_call = tree.one("orders", "GET cart")
    tree.assert_under(cart_call, placed)
    assert tree.one("cart", "GET /v1/internal/carts/{user_id}")["parent_span_id"] == \
        cart_call["span_id"]

    reserve = tree.one("inventory", "consume inventory.ReserveStock.v1")
    publisher = tree.by_id[reserve["parent_span_id"]]  # through the outbox and NATS
    assert publisher["service"] == "orders"
    assert "publish inventory.ReserveStock.v1" in [e["name"] for e in publisher["events"]]
    tree.assert_under(reserve, placed)
    reserved = tree.one("orders", "consume inventory.StockReserved.v1")
    tree.assert_under(reserved, reserve)
    authorize = tree.one("payments", "consume payments.AuthorizePayment.v1")
    tree.assert_under(authorize, reserved)
    tree.assert_under(authorize, tree.one("orders", "saga.authorize"))
    authorized = tree.one("orders", "consume payments.PaymentAuthorized.v1")
    tree.assert_under(authorized, authorize)
    capture = tree.one("payments", "consume payments.CapturePayment.v1")
    tree.assert_under(capture, authorized)
    captured = tree.one("orders", "consume payments.PaymentCaptured.v1")
    tree.assert_under(captured, capture)
    confirmed = tree.one("orders", "saga.confirmed")
    tree.assert_under(confirmed, captured)
    assert confirmed["attributes"]["souk.order_id"] == order["id"]
    for service in ("notifications", "inventory", "analytics", "cart"):
        tree.assert_under(tree.one(service, "consume orders.OrderConfirmed.v1"), confirmed)

    # the terminal shows the same tree; every service's log lines of it are found by trace id
    trace_id = doc["trace_id"]
    shown = shop.souk("trace", trace_id).stdout
    for service in ("gateway", "orders", "inventory", "payments", "notifications"):
        assert service in shown
    logs = shop.souk("logs", "--trace", trace_id, "--lines", "100000").stdout
    logged = {line.split()[1] for line in logs.splitlines() if len(line.split()) > 1}
    assert {"orders-1", "notifications-1"} <= logged, logs[-2000:]
    assert "order placed" in logs and "order confirmed" in logs


def complete_declined(spans: list[Span]) -> bool:
    return any(sp["name"] == "consume orders.OrderCancelled.v1" for sp in spans)


async def test_a_declined_checkouts_trace_shows_its_compensation(shop: Checkout) -> None:
    async with aiohttp.ClientSession() as s:
        shopper = await shop.shopper(s)
        await shop.fill(s, shopper, "BOK-0008", 1)
        _, order = await shop.checkout(s, shopper, "traced-2", card="tok_decline")
        assert order["status"] == "CANCELLED"
        doc = await trace_of_order(s, shop, order["id"], complete_declined)
    tree = Tree(doc["spans"])
    declined = tree.one("orders", "consume payments.PaymentDeclined.v1")
    compensate = tree.one("orders", "saga.compensate.release")
    tree.assert_under(compensate, declined)
    assert compensate["attributes"]["souk.order_id"] == order["id"]
    release = tree.one("inventory", "consume inventory.ReleaseStock.v1")
    tree.assert_under(release, compensate)
    cancelled = tree.one("orders", "saga.cancelled")
    tree.assert_under(cancelled, release)
    tree.assert_under(tree.one("notifications", "consume orders.OrderCancelled.v1"), cancelled)
    shop.verify()
