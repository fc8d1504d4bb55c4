"""The notifications API over real HTTP: own mailbox only, admin listing admin only, problems."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from chassis.db import open_database
from notifications.adapters.sql import SqlUnitOfWork
from notifications.domain.messages import Kind, OrderOutcome
from notifications.service import mailbox

from .conftest import ISSUER, RunningService

pytestmark = pytest.mark.integration

ALICE = ISSUER.mint(sub="alice")
BOB = ISSUER.mint(sub="bob")
ADMIN = ISSUER.mint(sub="admin-1", roles=("admin",))
PROBLEM = "application/problem+json"


async def seed(service: RunningService, *outcomes: OrderOutcome) -> None:
    db = open_database(service.app.state.runtime.settings.database_url)
    await db.connect()
    try:
        async with SqlUnitOfWork(db).transaction() as box:
            for o in outcomes:
                await mailbox.notify(box, o, datetime.now(UTC))
    finally:
        await db.close()


def confirmed(order_id: str, user_id: str) -> OrderOutcome:
    return OrderOutcome(Kind.ORDER_CONFIRMED, order_id, user_id, 1, 990, "EUR")


async def test_a_customer_sees_only_their_own_messages(service: RunningService) -> None:
    await seed(service, confirmed("o-1", "alice"), confirmed("o-2", "bob"),
               OrderOutcome(Kind.ORDER_CANCELLED, "o-3", "alice", 2, 500, "EUR", "declined"))
    status, ctype, body = await service.get("/v1/notifications", ALICE)
    assert (status, ctype) == (200, "application/json")
    assert [(m["order_id"], m["kind"]) for m in body["items"]] == [
        ("o-3", "order-cancelled"), ("o-1", "order-confirmed")]
    assert set(body["items"][0]) == {"id", "order_id", "kind", "subject", "body", "created_at"}
    assert body["next_cursor"] is None
    _, _, theirs = await service.get("/v1/notifications", BOB)
    assert [m["order_id"] for m in theirs["items"]] == ["o-2"]
    _, _, nobody = await service.get("/v1/notifications", ISSUER.mint(sub="carol"))
    assert nobody == {"items": [], "next_cursor": None}


async def test_the_mailbox_pages_with_a_cursor(service: RunningService) -> None:
    await seed(service, *(confirmed(f"o-{n}", "alice") for n in range(3)))
    _, _, first = await service.get("/v1/notifications", ALICE, limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    _, _, second = await service.get("/v1/notifications", ALICE, limit=2,
                                     cursor=first["next_cursor"])
    assert [m["order_id"] for m in first["items"] + second["items"]] == ["o-2", "o-1", "o-0"]
    assert second["next_cursor"] is None


async def test_the_admin_listing_is_for_admins_only(service: RunningService) -> None:
    await seed(service, confirmed("o-1", "alice"), confirmed("o-2", "bob"))
    assert (await service.get("/v1/admin/notifications"))[0] == 401
    assert (await service.get("/v1/admin/notifications", ALICE))[0] == 403
    status, _, body = await service.get("/v1/admin/notifications", ADMIN, limit=1)
    assert status == 200
    assert body == {"items": [{"order_id": "o-1", "user_id": "alice",
                               "kinds": ["order-confirmed"], "count": 1}], "next": "o-1"}
    _, _, rest = await service.get("/v1/admin/notifications", ADMIN, after="o-1")
    assert [i["order_id"] for i in rest["items"]] == ["o-2"] and rest["next"] is None


@pytest.mark.parametrize(("path", "params", "token", "status", "slug"), [
    ("/v1/notifications", {}, None, 401, "unauthorized"),
    ("/v1/notifications", {}, "not.a.jwt", 401, "unauthorized"),
    ("/v1/notifications", {"limit": "0"}, ALICE, 400, "validation-error"),
    ("/v1/notifications", {"limit": "101"}, ALICE, 400, "validation-error"),
    ("/v1/notifications", {"limit": "x"}, ALICE, 400, "validation-error"),
    ("/v1/notifications", {"cursor": "nonsense"}, ALICE, 400, "notifications/invalid-cursor"),
    ("/v1/notifications", {"cursor": ""}, ALICE, 400, "notifications/invalid-cursor"),
    ("/v1/admin/notifications", {"limit": "1001"}, ADMIN, 400, "validation-error"),
    ("/v1/admin/notifications", {"after": "x" * 201}, ADMIN, 400, "validation-error"),
])
async def test_bad_requests_get_a_problem_document(
        service: RunningService, path: str, params: dict[str, str], token: str | None,
        status: int, slug: str) -> None:
    got, ctype, body = await service.get(path, token, **params)
    assert (got, ctype) == (status, PROBLEM), body
    assert body["type"] == f"https://souk.dev/problems/{slug}"


async def test_health_reports_database_broker_and_messaging(service: RunningService) -> None:
    status, _, body = await service.get("/health/ready")
    assert status == 200
    assert body["checks"] == {"database": "ok", "broker": "ok", "messaging": "ok"}
