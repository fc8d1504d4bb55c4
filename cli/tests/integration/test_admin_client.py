"""The admin client `souk verify` reads the services with, against a port nobody listens on:
its error names the instance and says what to look at, not aiohttp's words."""

from __future__ import annotations

import socket
from types import SimpleNamespace

import aiohttp
import pytest

from souk.admin import AdminClient, FetchError
from souk.state import ProcState

pytestmark = pytest.mark.integration


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_an_instance_that_is_not_running_is_said_to_refuse_the_connection() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    proc = ProcState(service="orders", instance="orders-1", slot=1, pid=None, port=1, url=url,
                     ready_url="", ready=False, restarts=0, status="running", started_at=None,
                     log="")
    state = SimpleNamespace(desired={"orders": 1}, of_service=lambda service: [proc])

    async def log_in() -> str:
        return "token"

    async with aiohttp.ClientSession() as session:
        client = AdminClient(session, state, log_in)  # type: ignore[arg-type]
        with pytest.raises(FetchError) as refused:
            await client.request("orders", "GET", "/v1/admin/orders")
    said = str(refused.value)
    assert said.startswith(f"orders-1 {url}/v1/admin/orders: the connection was refused")
    assert "souk status" in said and "ssl:default" not in said
