"""The HTTP API over a real server: own payments only, listings, the admin listing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from chassis.db import Database
from chassis.testing import TestIssuer, serve_app
from payments.adapters.sql import SqlLedger
from payments.app import create_app
from payments.domain.events import (
    AuthorizationRequested,
    Authorized,
    Captured,
    PaymentEvent,
    Refunded,
    Voided,
    VoidRequested,
)
from payments.service.ports import Stream

from .conftest import payments_settings

pytestmark = pytest.mark.integration

ISSUER = TestIssuer()
ALICE = ISSUER.mint(sub="alice", roles=("customer",))
BOB = ISSUER.mint(sub="bob", roles=("customer",))
ADMIN = ISSUER.mint(sub="admin-1", roles=("admin",))
PROBLEM = "application/problem+json"


async def record(db: Database, order_id: str, *events: PaymentEvent) -> None:
    async with db.transaction() as tx:
        ledger = SqlLedger(tx, db.dialect)
        stream: Stream = await ledger.load(order_id)
        for event in events:
            stream = await ledger.append(stream, [event])


def authorized(user: str, amount: int) -> Authorized:
    return Authorized(amount, "EUR", user, "k")


@pytest.fixture
async def http(database: Database, database_url: str) -> AsyncIterator[aiohttp.ClientSession]:
    await record(database, "o-a1", authorized("alice", 1000), Captured(1000))
    await record(database, "o-a2", authorized("alice", 2000), Voided())
    await record(database, "o-a3", authorized("alice", 3000), Captured(3000), Refunded(3000))
    await record(database, "o-b1", AuthorizationRequested("bob", 500, "EUR", "timeout", "k"))
    await record(database, "o-v1", VoidRequested("v"))
    app = create_app(payments_settings(database_url))

    app.state.runtime.verifier = ISSUER.verifier()
    async with serve_app(app) as base_url, aiohttp.ClientSession(base_url) as session:
        yield session


async def get(http: aiohttp.ClientSession, path: str, token: str | None,
              **params: Any) -> tuple[int, str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.get(path, params=params, headers=headers) as resp:
        return resp.status, resp.content_type, await resp.json(content_type=None)


async def test_a_user_sees_their_payment_with_its_history(http: aiohttp.ClientSession) -> None:
    status, _, body = await get(http, "/v1/payments/o-a3", ALICE)
    assert status == 200
    assert {k: v for k, v in body.items() if k != "events"} == {
        "order_id": "o-a3", "status": "refunded", "amount_minor": 3000, "currency": "EUR",
        "captured_minor": 3000, "refunded_minor": 3000}
    assert [e["type"] for e in body["events"]] == ["Authorized", "Captured", "Refunded"]
    assert all(e["at"] for e in body["events"])


@pytest.mark.parametrize("order_id", ["o-b1", "o-v1", "no-such-order"])
async def test_another_users_payment_is_not_found(http: aiohttp.ClientSession,
                                                  order_id: str) -> None:
    status, ctype, body = await get(http, f"/v1/payments/{order_id}", ALICE)
    assert (status, ctype) == (404, PROBLEM)
    assert body["type"].endswith("payments/not-found")


async def test_the_listing_is_the_users_own_newest_first_by_pages(
        http: aiohttp.ClientSession) -> None:
    _, _, first = await get(http, "/v1/payments", ALICE, limit=2)
    assert [p["order_id"] for p in first["items"]] == ["o-a3", "o-a2"]
    assert first["items"][0]["status"] == "refunded"
    _, _, rest = await get(http, "/v1/payments", ALICE, limit=2, cursor=first["next_cursor"])
    assert [p["order_id"] for p in rest["items"]] == ["o-a1"] and rest["next_cursor"] is None
    _, _, bobs = await get(http, "/v1/payments", BOB)
    assert [p["order_id"] for p in bobs["items"]] == ["o-b1"]


@pytest.mark.parametrize(("params", "slug"), [({"limit": "0"}, "validation-error"),
                                              ({"limit": "101"}, "validation-error"),
                                              ({"cursor": "forged"}, "payments/invalid-cursor")])
async def test_bad_listing_parameters_are_a_400(http: aiohttp.ClientSession,
                                                params: dict[str, str], slug: str) -> None:
    status, ctype, body = await get(http, "/v1/payments", ALICE, **params)
    assert (status, ctype) == (400, PROBLEM) and body["type"].endswith(slug)


async def test_without_a_token_it_is_a_401(http: aiohttp.ClientSession) -> None:
    assert (await get(http, "/v1/payments", None))[:2] == (401, PROBLEM)


async def test_the_admin_listing_shows_every_payment_with_its_net_charge(
        http: aiohttp.ClientSession) -> None:
    status, _, page = await get(http, "/v1/admin/payments", ADMIN, limit=3)
    assert status == 200 and page["next"] == "o-a3"
    assert page["items"][0] == {"order_id": "o-a1", "user_id": "alice", "status": "captured",
                                "authorized_minor": 1000, "captured_minor": 1000,
                                "refunded_minor": 0, "net_minor": 1000, "captures": 1,
                                "voided": False}
    assert page["items"][1]["voided"] is True and page["items"][2]["net_minor"] == 0
    _, _, rest = await get(http, "/v1/admin/payments", ADMIN, after=page["next"])
    assert [p["order_id"] for p in rest["items"]] == ["o-b1", "o-v1"] and rest["next"] is None


async def test_the_admin_listing_needs_the_admin_role(http: aiohttp.ClientSession) -> None:
    assert (await get(http, "/v1/admin/payments", ALICE))[:2] == (403, PROBLEM)
    assert (await get(http, "/v1/admin/payments", ADMIN, limit="1001"))[0] == 400
