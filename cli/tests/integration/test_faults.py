"""``souk fault``, end to end on stand-in services: kill and pause any process (the supervisor
sends the SIGCONT of ``--for`` and leaves a paused process to its liveness probe), and network
faults through the fault proxy."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import pytest

from souk.instance import LIVE_EVERY, LIVE_FAILURES

from .conftest import Souk, dummy_topology

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def souk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Souk]:
    topology = dummy_topology(workers=1).replace(
        "gateway_port = 0\n", 'gateway_port = 0\nfault_proxies = ["worker"]\n', 1)
    driver = Souk(tmp_path_factory.mktemp("faults"), topology)
    try:
        result = driver.up()
        assert result.returncode == 0, result.stdout + result.stderr
        yield driver
    finally:
        driver.cleanup()


def answers(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=0.5) as sock:
            sock.sendall(b"GET /health/live HTTP/1.0\r\n\r\n")
            return sock.recv(12).startswith(b"HTTP/1.")
    except OSError:
        return False


def link_port(souk: Souk, service: str, target: str) -> int:
    listed = json.loads(souk.run("fault", "list", "--json").stdout)
    assert listed is not None
    proxy = souk.proc("faultproxy-1")
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(proxy["url"] + "/v1/links", timeout=5) as answer:
        links = json.loads(answer.read())["links"]
    return int(next(link["port"] for link in links
                    if link["service"] == service and link["target"] == target))


def broker_greets(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
            return sock.recv(5) == b"INFO "
    except OSError:
        return False


def test_a_proxied_service_reaches_the_broker_through_the_proxy(souk: Souk) -> None:
    first = json.loads((souk.home / "logs" / "worker-1.log").read_text().splitlines()[0])
    port = link_port(souk, "worker", "broker")
    assert first["nats_url"] == f"nats://127.0.0.1:{port}" != souk.state()["nats_url"]
    assert broker_greets(port)


def test_a_paused_instance_is_left_paused_by_liveness_until_resumed(souk: Souk) -> None:
    before = souk.proc("worker-1")
    result = souk.run("fault", "pause", "worker-1")
    assert result.returncode == 0, result.stderr
    souk.wait_for(lambda: souk.proc("worker-1")["paused"] and not souk.proc("worker-1")["ready"],
                  10, "paused and unready")
    assert not answers(before["url"])
    time.sleep(LIVE_EVERY * LIVE_FAILURES + 1)  # what would have failed liveness three times
    now = souk.proc("worker-1")
    assert now["pid"] == before["pid"] and now["restarts"] == before["restarts"]
    assert now["status"] == "paused"

    resumed = souk.run("fault", "resume", "worker-1")
    assert resumed.returncode == 0 and "resumed worker-1" in resumed.stdout
    souk.wait_for(lambda: souk.proc("worker-1")["ready"], 10, "ready again")
    assert souk.proc("worker-1")["pid"] == before["pid"]
    again = souk.run("fault", "resume", "worker-1")  # it said "resumed" of a running instance
    assert again.returncode == 0
    assert "worker-1 was not paused: nothing to resume" in " ".join(again.stdout.split())


def test_pause_for_is_ended_by_the_supervisor_after_the_cli_exits(souk: Souk) -> None:
    before = souk.proc("nats-1")
    result = souk.run("fault", "pause", "nats-1", "--for", "1")
    assert result.returncode == 0, result.stderr
    assert "for 1 s" in result.stdout
    souk.wait_for(lambda: not souk.proc("nats-1")["paused"] and souk.proc("nats-1")["ready"],
                  15, "resumed by the supervisor")
    assert souk.proc("nats-1")["pid"] == before["pid"]


def test_kill_sigkills_any_instance_and_the_supervisor_restarts_it(souk: Souk) -> None:
    before = souk.proc("gateway-1")
    result = souk.run("fault", "kill", "gateway-1")
    assert result.returncode == 0 and str(before["pid"]) in result.stdout
    souk.wait_for(lambda: souk.proc("gateway-1")["pid"] != before["pid"]
                  and souk.proc("gateway-1")["ready"], 15, "restarted")
    assert souk.proc("gateway-1")["restarts"] == before["restarts"] + 1
    assert souk.run("fault", "kill", "nosuch-1").returncode == 2


def test_partition_refuses_the_broker_and_heal_restores_it(souk: Souk) -> None:
    port = link_port(souk, "worker", "broker")
    result = souk.run("fault", "partition", "worker", "broker")
    assert result.returncode == 0, result.stderr
    assert not broker_greets(port)
    listed = json.loads(souk.run("fault", "list", "--json").stdout)
    assert listed["network"][0]["fault"]["mode"] == "partition"

    assert souk.run("fault", "slow", "worker", "broker", "--ms", "20").returncode == 0
    assert broker_greets(port)  # slowed, not cut
    assert souk.run("fault", "heal", "worker").returncode == 0
    assert broker_greets(port)
    assert json.loads(souk.run("fault", "list", "--json").stdout)["network"] == []


@pytest.mark.parametrize(("args", "message"), [
    (("partition", "worker", "database"), "SQLite"),
    (("partition", "registry", "broker"), "not behind the fault proxy"),
    (("slow", "worker", "cache", "--ms", "5"), "broker or database"),
])
def test_network_faults_refuse_what_cannot_be_done(souk: Souk, args: tuple[str, ...],
                                                   message: str) -> None:
    result = souk.run("fault", *args)
    assert result.returncode == 2
    assert message in result.stderr.replace("\n", " ")
