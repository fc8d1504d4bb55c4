"""The broker helper against a real nats-server from the wheel."""

from __future__ import annotations

from pathlib import Path

import pytest

from chassis.broker import Broker
from chassis.testing import free_port, nats_server

pytestmark = pytest.mark.integration


async def test_connects_publishes_to_jetstream_and_reports_readiness(tmp_path: Path) -> None:
    with nats_server(tmp_path / "js") as url:
        broker = Broker(url, name="test")
        await broker.start()
        await broker.wait_connected(5)
        await broker.check()
        js = broker.jetstream()
        await js.add_stream(name="DEMO", subjects=["demo.>"])
        first = await js.publish("demo.x", b"1", headers={"Nats-Msg-Id": "m-1"})
        again = await js.publish("demo.x", b"1", headers={"Nats-Msg-Id": "m-1"})
        assert again.duplicate and again.seq == first.seq
        await broker.close()


async def test_starts_without_a_server_and_connects_when_it_appears(tmp_path: Path) -> None:
    port = free_port()
    broker = Broker(f"nats://127.0.0.1:{port}", name="test", connect_timeout=0.2)
    await broker.start()
    with pytest.raises(ConnectionError):
        await broker.check()
    # a server on another port proves nothing; start one where the broker looks
    import subprocess

    from chassis.testing import _wait_port, find_nats_server
    proc = subprocess.Popen([find_nats_server(), "-a", "127.0.0.1", "-p", str(port), "-js",
                             "-sd", str(tmp_path / "js")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        _wait_port(port, 10, proc)
        await broker.wait_connected(10)
        await broker.check()
    finally:
        await broker.close()
        proc.terminate()
        proc.wait(5)
