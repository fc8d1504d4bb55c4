"""The cart read over HTTP (adapters/cart.py) against a stub cart: what each of its answers
makes of a checkout."""

from __future__ import annotations

from typing import Any

import pytest

from chassis.problems import Problem
from chassis.settings import ServiceSettings
from chassis.testing import TestIssuer, serve_app
from chassis.testing.service import start_service
from chassis.web import App, Router, services
from orders.app import create_app
from orders.settings import OrdersSettings

from ..conftest import Orders, Participants

pytestmark = pytest.mark.integration


class Tokens:
    """Orders' identity: a service token from the test issuer (identity is not running)."""

    def __init__(self, issuer: TestIssuer) -> None:
        self.token = issuer.service_token("orders")

    async def authorization(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def stub_cart(issuer: TestIssuer, problem: Problem) -> App:
    router = Router()

    @router.get("/v1/internal/carts/{user_id}", auth=services({"orders"}),
                problems={problem.status: "on purpose"})
    async def internal_cart(user_id: str) -> dict[str, Any]:
        raise problem

    app = App(title="stub cart", settings=ServiceSettings(service_name="cart"))
    app.include(router)
    app.verifier = issuer.verifier()
    return app


@pytest.mark.parametrize(("problem", "status", "slug"), [
    # its lines are priced in two currencies (a product's changed since it was added): the
    # buyer's to fix, so a 409 that says why; it was the 503 "unavailable", as if waiting helped
    (Problem(409, "cart/mixed-currencies", "the cart mixes EUR, USD"), 409,
     "orders/cart-not-orderable"),
    (Problem(503, "cart/pricing-unavailable", "no price for KIT-1"), 503,
     "orders/cart-unavailable"),
])
async def test_a_cart_refusing_to_be_priced_is_named_for_what_cures_it(
        database_url: str, nats_url: str, issuer: TestIssuer, participants: Participants,
        problem: Problem, status: int, slug: str) -> None:
    async with serve_app(stub_cart(issuer, problem)) as cart_url:
        app = create_app(OrdersSettings(
            database_url=database_url, nats_url=nats_url, registry_url="", log_level="warning",
            upstream_urls=(f"cart={cart_url}",)))
        app.runtime.service_tokens = Tokens(issuer)  # type: ignore[attr-defined]
        async with start_service(app, issuer) as running:
            orders = Orders(running.app, running.url, running.http, running.issuer)
            reply = await orders.checkout(wait=0)
            assert (reply.status, reply.body["type"].rsplit("/problems/", 1)[-1]) == (
                status, slug), reply.body
            if status == 409:
                assert "the cart mixes EUR, USD" in reply.body["detail"]
            assert (await orders.call("GET", "/v1/orders")).body["items"] == []
