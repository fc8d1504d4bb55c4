"""The notifications API over real HTTP: own mailbox only, admin listing admin only, one cursor
convention, problems for bad requests."""

from __future__ import annotations

import pytest

from notifications.domain.messages import Kind

from ..conftest import Notifications, outcome, seed

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"


async def test_a_customer_sees_only_their_own_messages(notifications: Notifications) -> None:
    await seed(notifications.uow, outcome("o-1", "alice"), outcome("o-2", "bob"),
               outcome("o-3", "alice", Kind.ORDER_CANCELLED))
    mine = await notifications.call("GET", "/v1/notifications", user="alice")
    assert (mine.status, mine.headers["content-type"]) == (200, "application/json")
    assert [(m["order_id"], m["kind"]) for m in mine.body["items"]] == [
        ("o-3", "order-cancelled"), ("o-1", "order-confirmed")]
    assert set(mine.body["items"][0]) == {"id", "order_id", "kind", "subject", "body",
                                          "created_at"}
    assert mine.body["items"][0]["created_at"] == "2025-03-01T12:00:00.123456Z"
    assert mine.body["next"] is None
    theirs = await notifications.call("GET", "/v1/notifications", user="bob")
    assert [m["order_id"] for m in theirs.body["items"]] == ["o-2"]
    nobody = await notifications.call("GET", "/v1/notifications", user="carol")
    assert nobody.body == {"items": [], "next": None}


async def test_the_mailbox_pages_with_a_cursor(notifications: Notifications) -> None:
    await seed(notifications.uow, *(outcome(f"o-{n}") for n in range(3)))
    first = (await notifications.call("GET", "/v1/notifications?limit=2", user="alice")).body
    assert len(first["items"]) == 2 and first["next"]
    second = (await notifications.call("GET", f"/v1/notifications?limit=2&cursor={first['next']}",
                                       user="alice")).body
    assert [m["order_id"] for m in first["items"] + second["items"]] == ["o-2", "o-1", "o-0"]
    assert second["next"] is None


async def test_the_admin_listing_is_for_admins_only(notifications: Notifications) -> None:
    await seed(notifications.uow, outcome("o-1", "alice"), outcome("o-2", "bob"))
    assert (await notifications.call("GET", "/v1/admin/notifications", user=None)).status == 401
    assert (await notifications.call("GET", "/v1/admin/notifications")).status == 403
    first = await notifications.call("GET", "/v1/admin/notifications?limit=1", roles=("admin",))
    assert first.status == 200
    assert first.body["items"] == [{"order_id": "o-1", "user_id": "alice",
                                    "kinds": ["order-confirmed"], "count": 1}]
    rest = await notifications.call(
        "GET", f"/v1/admin/notifications?cursor={first.body['next']}", roles=("admin",))
    assert [i["order_id"] for i in rest.body["items"]] == ["o-2"] and rest.body["next"] is None


async def test_a_cursor_is_refused_when_altered_or_from_another_listing(
        notifications: Notifications) -> None:
    await seed(notifications.uow, *(outcome(f"o-{n}") for n in range(3)))
    mailbox = (await notifications.call("GET", "/v1/notifications?limit=1", user="alice")).body
    admin = (await notifications.call("GET", "/v1/admin/notifications?limit=1",
                                      roles=("admin",))).body
    cursor = mailbox["next"]
    tampered = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    for path in (f"/v1/notifications?cursor={tampered}",
                 f"/v1/notifications?cursor={admin['next']}"):
        reply = await notifications.call("GET", path, user="alice")
        assert reply.status == 400 and reply.body["type"].endswith("/invalid-cursor"), path
    reply = await notifications.call("GET", f"/v1/admin/notifications?cursor={cursor}",
                                     roles=("admin",))
    assert reply.status == 400 and reply.body["type"].endswith("/invalid-cursor")


@pytest.mark.parametrize(("path", "token", "status", "slug"), [
    ("/v1/notifications", None, 401, "unauthorized"),
    ("/v1/notifications", "not.a.jwt", 401, "unauthorized"),
    ("/v1/notifications?limit=0", "user", 400, "validation-error"),
    ("/v1/notifications?limit=101", "user", 400, "validation-error"),
    ("/v1/notifications?limit=x", "user", 400, "validation-error"),
    ("/v1/notifications?cursor=nonsense", "user", 400, "invalid-cursor"),
    ("/v1/notifications?cursor=", "user", 400, "invalid-cursor"),
    ("/v1/notifications?cursor=" + "A" * 2049, "user", 400, "validation-error"),
    ("/v1/notifications?before=x", "user", 400, "validation-error"),
    ("/v1/admin/notifications?limit=1001", "admin", 400, "validation-error"),
    # the admin listing's old `after=` is a mistake now, not silently the first page
    ("/v1/admin/notifications?after=o-1", "admin", 400, "validation-error"),
])
async def test_bad_requests_get_a_problem_document(
        notifications: Notifications, path: str, token: str | None, status: int,
        slug: str) -> None:
    if token in (None, "user", "admin"):
        reply = await notifications.call("GET", path, user=token and "alice",
                                         roles=("admin",) if token == "admin" else ("customer",))
    else:
        reply = await notifications.call("GET", path, user=None,
                                         headers={"Authorization": f"Bearer {token}"})
    assert (reply.status, reply.headers["content-type"]) == (status, PROBLEM), reply.body
    assert reply.body["type"] == f"https://souk.dev/problems/{slug}"


async def test_health_reports_database_broker_and_messaging(
        notifications: Notifications) -> None:
    reply = await notifications.call("GET", "/health/ready", user=None)
    assert reply.status == 200
    assert reply.body["checks"] == {"database": "ok", "broker": "ok", "messaging": "ok"}
