"""The console's RED comes from background rounds while someone watches it: a look reads the
latest round, the first look after a quiet spell scrapes once (a baseline), and rounds stop —
forgetting their scrapes — two minutes after the last look."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from chassis.http import ServiceResponse
from web.adapters.console import WATCH_FOR, Console

pytestmark = pytest.mark.unit

INSTANCE = {"instance_id": "cart-1", "service": "cart", "url": "http://x", "status": "passing",
            "metadata": {}, "registered_at": 1.0, "last_heartbeat": 2.0}


def metrics(requests: int) -> bytes:
    return (f'souk_http_requests_total{{method="GET",route="/v1/cart",status="200"}} '
            f"{requests}\n").encode()


class FakeClient:
    def __init__(self) -> None:
        self.requests = 0
        self.scrapes: list[dict[str, Any]] = []

    async def get(self, service: str, path: str, **kwargs: Any) -> ServiceResponse:
        if path.startswith("/v1/watch"):
            return ServiceResponse(200, {}, orjson.dumps({"instances": [INSTANCE]}))
        self.scrapes.append(kwargs)
        self.requests += 50
        return ServiceResponse(200, {}, metrics(self.requests))


async def test_a_look_reads_the_latest_round_and_rounds_stop_when_nobody_watches() -> None:
    now = [100.0]
    client = FakeClient()
    console = Console(client, None, clock=lambda: now[0])  # type: ignore[arg-type]

    await console.refresh()  # nobody has looked: no round
    assert client.scrapes == []

    instances = await console.instances("admin-token")
    first = await console.current_red(instances, "admin-token")  # the baseline, scraped now
    assert [s.red for s in first] == [None] and len(client.scrapes) == 1
    assert client.scrapes[0]["on_behalf_of"] == "admin-token"

    now[0] += 5
    await console.refresh()  # a background round, as the web service itself
    assert len(client.scrapes) == 2 and client.scrapes[1]["on_behalf_of"] is None
    again = await console.current_red(instances, "admin-token")
    assert len(client.scrapes) == 2  # the look read the round; it scraped nothing
    assert again[0].red is not None and again[0].red.rate == pytest.approx(10.0)  # 50 in 5 s

    now[0] += WATCH_FOR + 1
    await console.refresh()  # nobody looked for two minutes: rounds stop, scrapes forgotten
    await console.refresh()
    assert len(client.scrapes) == 2
    later = await console.current_red(instances, "admin-token")
    assert [s.red for s in later] == [None]  # a fresh baseline, not a rate over the gap
