"""The summary and the replay over real HTTP: admins only, zeros when empty, 503 without the
broker."""

from __future__ import annotations

import pytest

from ..conftest import Analytics, confirmed, project

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/analytics/summary"),
                                              ("POST", "/v1/admin/replay")])
async def test_only_admins_may_read_or_replay(analytics: Analytics, method: str,
                                              path: str) -> None:
    expired = analytics.issuer.mint(roles=("admin",), ttl=-300)
    for headers, roles, status in (({}, None, 401), ({}, ("customer",), 403),
                                   ({"Authorization": "Bearer garbage"}, None, 401),
                                   ({"Authorization": f"Bearer {expired}"}, None, 401)):
        reply = await analytics.call(method, path, user="alice" if roles else None,
                                     roles=roles or (), headers=headers)
        assert (reply.status, reply.headers["content-type"]) == (status, PROBLEM), reply.body


async def test_an_empty_service_summarizes_to_zeros(analytics: Analytics) -> None:
    assert await analytics.summary() == {
        "orders_by_status": {"placed": 0, "confirmed": 0, "cancelled": 0}, "revenue": {},
        "top_products": [], "orders": 0}


async def test_replaying_an_empty_stream_replays_nothing(analytics: Analytics) -> None:
    reply = await analytics.call("POST", "/v1/admin/replay", roles=("admin",))
    assert reply.status == 200
    assert reply.body["replayed"] == 0 and reply.body["summary"]["orders"] == 0


async def test_a_replay_without_the_broker_is_refused_and_clears_nothing(
        analytics: Analytics) -> None:
    await project(analytics.uow, [confirmed("o-1")])
    broker = analytics.app.runtime.broker
    await broker.nc.close()  # the broker goes away (the process keeps running)
    reply = await analytics.call("POST", "/v1/admin/replay", roles=("admin",))
    assert (reply.status, reply.headers["content-type"]) == (503, PROBLEM), reply.body
    assert reply.body["type"].endswith("analytics/broker-unavailable")
    assert (await analytics.summary())["orders"] == 1
