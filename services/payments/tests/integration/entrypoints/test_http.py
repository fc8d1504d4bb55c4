"""The HTTP API over a real server: own payments only, cursor pages, the admin listing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest

from chassis.db import Database
from chassis.testing.service import Reply, RunningService
from payments.domain.events import (
    AuthorizationRequested,
    Authorized,
    Captured,
    Refunded,
    Voided,
    VoidRequested,
)

from ..conftest import StartPayments, record

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"


def authorized(user: str, amount: int) -> Authorized:
    return Authorized(amount, "EUR", user, "k")


@pytest.fixture
async def payments(database: Database, start_payments: StartPayments
                   ) -> AsyncIterator[RunningService]:
    await record(database, "o-a1", authorized("alice", 1000), Captured(1000))
    await record(database, "o-a2", authorized("alice", 2000), Voided())
    await record(database, "o-a3", authorized("alice", 3000), Captured(3000), Refunded(3000))
    await record(database, "o-b1", AuthorizationRequested("bob", 500, "EUR", "timeout", "k"))
    await record(database, "o-v1", VoidRequested("v"))
    # a long processor delay: bob's pending payment stays pending while the tests read it
    async with start_payments(timeout_delay=3600) as running:
        yield running


async def get(payments: RunningService, path: str, user: str | None = "alice",
              roles: tuple[str, ...] = ("customer",), **params: Any) -> Reply:
    query = f"?{urlencode(params)}" if params else ""
    return await payments.call("GET", path + query, user=user, roles=roles)


async def test_a_user_sees_their_payment_with_its_history(payments: RunningService) -> None:
    reply = await get(payments, "/v1/payments/o-a3")
    assert reply.status == 200
    assert {k: v for k, v in reply.body.items() if k != "events"} == {
        "order_id": "o-a3", "status": "refunded", "amount_minor": 3000, "currency": "EUR",
        "captured_minor": 3000, "refunded_minor": 3000}
    assert [e["type"] for e in reply.body["events"]] == ["Authorized", "Captured", "Refunded"]
    assert all(e["at"] for e in reply.body["events"])


@pytest.mark.parametrize("order_id", ["o-b1", "o-v1", "no-such-order"])
async def test_another_users_payment_is_not_found(payments: RunningService,
                                                  order_id: str) -> None:
    reply = await get(payments, f"/v1/payments/{order_id}")
    assert (reply.status, reply.headers["content-type"]) == (404, PROBLEM)
    assert reply.body["type"].endswith("payments/not-found")


async def test_the_listing_is_the_users_own_newest_first_by_pages(
        payments: RunningService) -> None:
    first = (await get(payments, "/v1/payments", limit=2)).body
    assert [p["order_id"] for p in first["items"]] == ["o-a3", "o-a2"]
    assert first["items"][0]["status"] == "refunded"
    rest = (await get(payments, "/v1/payments", limit=2, cursor=first["next"])).body
    assert [p["order_id"] for p in rest["items"]] == ["o-a1"] and rest["next"] is None
    bobs = (await get(payments, "/v1/payments", user="bob")).body
    assert [p["order_id"] for p in bobs["items"]] == ["o-b1"]


@pytest.mark.parametrize(("params", "slug"), [({"limit": "0"}, "validation-error"),
                                              ({"limit": "101"}, "validation-error"),
                                              ({"cursor": "forged"}, "invalid-cursor")])
async def test_bad_listing_parameters_are_a_400(payments: RunningService,
                                                params: dict[str, str], slug: str) -> None:
    reply = await get(payments, "/v1/payments", **params)
    assert (reply.status, reply.headers["content-type"]) == (400, PROBLEM)
    assert reply.body["type"].endswith(f"/{slug}")


async def test_without_a_token_it_is_a_401(payments: RunningService) -> None:
    reply = await get(payments, "/v1/payments", user=None)
    assert (reply.status, reply.headers["content-type"]) == (401, PROBLEM)


async def test_the_admin_listing_shows_every_payment_with_its_net_charge(
        payments: RunningService) -> None:
    page = await get(payments, "/v1/admin/payments", roles=("admin",), limit=3)
    assert page.status == 200 and page.body["next"]
    assert page.body["items"][0] == {
        "order_id": "o-a1", "user_id": "alice", "status": "captured", "authorized_minor": 1000,
        "captured_minor": 1000, "refunded_minor": 0, "net_minor": 1000, "captures": 1,
        "voided": False}
    assert page.body["items"][1]["voided"] is True and page.body["items"][2]["net_minor"] == 0
    rest = (await get(payments, "/v1/admin/payments", roles=("admin",),
                      cursor=page.body["next"])).body
    assert [p["order_id"] for p in rest["items"]] == ["o-b1", "o-v1"] and rest["next"] is None


async def test_the_admin_listing_needs_the_admin_role(payments: RunningService) -> None:
    assert (await get(payments, "/v1/admin/payments")).status == 403
    admin = ("admin",)
    assert (await get(payments, "/v1/admin/payments", roles=admin, limit="1001")).status == 400
    # the old key-based parameter is refused, not ignored; a user listing's cursor too
    assert (await get(payments, "/v1/admin/payments", roles=admin, after="o-a3")).status == 400
    own = (await get(payments, "/v1/payments", limit=1)).body["next"]
    assert (await get(payments, "/v1/admin/payments", roles=admin, cursor=own)).status == 400
