"""The summary and the replay over real HTTP are for admins only."""

from __future__ import annotations

import pytest

from .conftest import CUSTOMER, ISSUER, RunningService

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"


@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/analytics/summary"),
                                              ("POST", "/v1/admin/replay")])
async def test_only_admins_may_read_or_replay(service: RunningService, method: str,
                                              path: str) -> None:
    for token, status in ((None, 401), (CUSTOMER, 403), ("garbage", 401),
                          (ISSUER.mint(roles=("admin",), ttl=-300), 401)):
        got, ctype, body = await service.call(method, path, token)
        assert (got, ctype) == (status, PROBLEM), body


async def test_an_empty_service_summarizes_to_zeros(service: RunningService) -> None:
    status, _, body = await service.call("GET", "/v1/analytics/summary")
    assert status == 200
    assert body == {"orders_by_status": {"placed": 0, "confirmed": 0, "cancelled": 0},
                    "revenue": {}, "top_products": [], "orders": 0}


async def test_replaying_an_empty_stream_replays_nothing(service: RunningService) -> None:
    status, _, body = await service.call("POST", "/v1/admin/replay")
    assert status == 200
    assert body["replayed"] == 0 and body["summary"]["orders"] == 0
