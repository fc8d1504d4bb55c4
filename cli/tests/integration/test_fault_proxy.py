"""The fault proxy (souk.fault_proxy) between a real nats-py client and a real nats-server:
messages flow through it, a partition cuts and refuses, slow still delivers, heal restores."""

from __future__ import annotations

import asyncio
from pathlib import Path

import nats
import orjson
import pytest

from chassis.testing import free_port, nats_server
from souk.fault_proxy import Link, Proxy

pytestmark = pytest.mark.integration


def write_faults(path: Path, rev: int, faults: dict[str, object]) -> None:
    path.write_bytes(orjson.dumps({"rev": rev, "faults": faults}))


async def until(check, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, "not reached in time"
        await asyncio.sleep(0.05)


async def round_trip(nc: nats.NATS, subject: str) -> bool:
    try:
        return (await nc.request(subject, b"ping", timeout=1)).data == b"pong"
    except Exception:
        return False


async def test_partition_cuts_and_refuses_slow_delivers_heal_restores(tmp_path: Path) -> None:
    faults_file = tmp_path / "net-faults.json"
    with nats_server() as url:
        host, port = url.removeprefix("nats://").split(":")
        link = Link("payments", "broker", free_port(), host, int(port))
        proxy = Proxy([link], faults_file)
        await proxy.start()
        responder = await nats.connect(url)  # straight to the broker, not through the proxy

        async def answer(msg: nats.aio.msg.Msg) -> None:
            await msg.respond(b"pong")

        await responder.subscribe("ping", cb=answer)
        disconnected = asyncio.Event()

        async def on_disconnect() -> None:
            disconnected.set()

        client = await nats.connect(f"nats://127.0.0.1:{link.listen_port}", reconnect_time_wait=0.1,
                                    max_reconnect_attempts=-1, disconnected_cb=on_disconnect)
        try:
            assert await round_trip(client, "ping")

            write_faults(faults_file, 1, {"payments": {"broker": {"mode": "partition"}}})
            await proxy.refresh()
            assert proxy.rev == 1 and link.fault is not None
            await asyncio.wait_for(disconnected.wait(), 10)
            assert not await round_trip(client, "ping")
            with pytest.raises(ConnectionRefusedError):  # a new connection is refused
                await asyncio.open_connection("127.0.0.1", link.listen_port)

            write_faults(faults_file, 2, {"payments": {"broker": {"mode": "slow", "ms": 50}}})
            await proxy.refresh()
            await until(lambda: round_trip(client, "ping"))  # reconnects; slow still delivers

            write_faults(faults_file, 3, {})
            await proxy.refresh()
            assert link.fault is None and proxy.describe()["rev"] == 3
            assert await round_trip(client, "ping")
        finally:
            await client.close()
            await responder.close()
            for each in proxy.links:
                await each.close()
