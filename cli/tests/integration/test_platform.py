"""The real CLI and supervisor, end to end, on stand-in services: one platform for the module
(up → status → crash → hang → scale → logs → down), plus start-up failure cases."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from souk.state import pid_alive

from .conftest import Factory, Souk, dummy_topology

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def souk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Souk]:
    driver = Souk(tmp_path_factory.mktemp("platform"), dummy_topology(workers=2))
    try:
        result = driver.up()
        assert result.returncode == 0, result.stdout + result.stderr
        driver.state()
        yield driver
    finally:
        driver.cleanup()


def test_up_starts_every_tier_and_prints_where_things_are(souk: Souk) -> None:
    output, state = souk.up_output, souk.state()

    assert "Souk is up" in output
    for instance in ("nats-1", "registry-1", "worker-1", "worker-2", "gateway-1"):
        assert instance in output
    assert state["gateway_url"] in output and state["registry_url"] in output
    assert state["nats_url"] in output and str(souk.home / "logs") in output


def test_status_json_lists_every_process_ready(souk: Souk) -> None:
    rows = souk.status()

    assert [row["instance"] for row in rows] == [
        "nats-1", "registry-1", "worker-1", "worker-2", "gateway-1"]
    assert all(row["ready"] is True and row["restarts"] == 0 for row in rows)
    assert rows[0]["service"] == "nats"
    assert rows[0]["url"] == f"nats://127.0.0.1:{rows[0]['port']}"
    ports = [row["port"] for row in rows]
    assert len(set(ports)) == len(ports) and 4222 not in ports


def test_tiers_start_in_order_registry_then_services_and_gateway(souk: Souk) -> None:
    started = {p["instance"]: p["started_at"] for p in souk.state()["processes"]}

    assert started["nats-1"] < started["registry-1"] < started["worker-1"]
    assert started["registry-1"] < started["gateway-1"]


def test_each_instance_receives_the_process_contract(souk: Souk) -> None:
    state = souk.state()
    first = json.loads((souk.home / "logs" / "worker-2.log").read_text().splitlines()[0])

    assert first["event"] == "service started"
    assert first["instance"] == "worker-2"
    assert first["port"] == souk.proc("worker-2")["port"]
    assert first["nats_url"] == state["nats_url"]
    assert first["registry_url"] == state["registry_url"]
    assert first["database_url"] == f"sqlite:///{souk.home / 'data' / 'worker.db'}"
    assert first["log_format"] == "json"


def test_up_again_reports_the_running_platform(souk: Souk) -> None:
    before = souk.state()["supervisor_pid"]

    result = souk.up()

    assert result.returncode == 0
    assert "already running" in result.stdout
    assert souk.state()["supervisor_pid"] == before


def test_a_killed_instance_is_back_and_ready_within_3s_on_the_same_port(souk: Souk) -> None:
    old = souk.proc("worker-1")

    os.kill(old["pid"], signal.SIGKILL)
    began = time.monotonic()
    souk.wait_for(lambda: (p := souk.proc("worker-1"))["pid"] != old["pid"] and p["ready"],
                  3.0, "worker-1 back and ready")
    elapsed = time.monotonic() - began

    new = souk.proc("worker-1")
    assert elapsed < 3.0
    assert (new["port"], new["restarts"]) == (old["port"], 1)
    row = next(r for r in souk.status() if r["instance"] == "worker-1")
    assert row["ready"] is True and row["restarts"] == 1
    assert "process exited; restarting" in (souk.home / "logs" / "supervisor.log").read_text()


def test_a_hung_instance_fails_liveness_and_is_killed_and_restarted(souk: Souk) -> None:
    old = souk.proc("worker-2")

    os.kill(old["pid"], signal.SIGSTOP)
    try:
        souk.wait_for(lambda: (p := souk.proc("worker-2"))["pid"] != old["pid"] and p["ready"],
                      10.0, "worker-2 replaced after failing liveness")
    finally:
        if pid_alive(old["pid"]):
            os.kill(old["pid"], signal.SIGCONT)

    new = souk.proc("worker-2")
    assert (new["port"], new["restarts"]) == (old["port"], 1)
    assert not pid_alive(old["pid"])
    assert "liveness probe failed; killing" in (souk.home / "logs" / "supervisor.log").read_text()


def test_a_held_instance_stays_down_until_released(souk: Souk) -> None:
    old = souk.proc("worker-1")
    held = souk.run("hold", "worker-1")
    assert held.returncode == 0, held.stderr
    assert souk.proc("worker-1")["held"] is True

    os.kill(old["pid"], signal.SIGKILL)
    souk.wait_for(lambda: souk.proc("worker-1")["status"] == "held", 5.0, "worker-1 held")
    time.sleep(1.0)  # a restart would have happened by now (the first one is immediate)
    assert souk.proc("worker-1")["pid"] == old["pid"] and not pid_alive(old["pid"])
    assert next(r for r in souk.status() if r["instance"] == "worker-1")["held"] is True

    released = souk.run("release", "worker-1")
    assert released.returncode == 0, released.stderr
    souk.wait_for(lambda: (p := souk.proc("worker-1"))["pid"] != old["pid"] and p["ready"],
                  5.0, "worker-1 back after release")
    assert souk.proc("worker-1")["held"] is False
    assert souk.run("hold", "nosuch-1").returncode == 2


def test_scale_adds_instances_then_retires_the_highest_numbered(souk: Souk) -> None:
    untouched = {i: souk.proc(i)["pid"] for i in ("nats-1", "registry-1", "worker-1", "gateway-1")}

    up = souk.run("scale", "worker=3")
    assert up.returncode == 0, up.stderr
    workers = [r for r in souk.status() if r["service"] == "worker"]
    assert [r["instance"] for r in workers] == ["worker-1", "worker-2", "worker-3"]
    assert all(r["ready"] for r in workers)
    retired = {r["pid"] for r in workers if r["instance"] != "worker-1"}

    down = souk.run("scale", "worker=1")
    assert down.returncode == 0, down.stderr
    assert [r["instance"] for r in souk.status() if r["service"] == "worker"] == ["worker-1"]
    assert not any(pid_alive(pid) for pid in retired)
    assert {i: souk.proc(i)["pid"] for i in untouched} == untouched
    assert json.loads((souk.home / "run" / "desired.json").read_text())["worker"] == 1


@pytest.mark.parametrize(("arg", "message"), [
    ("registry=2", "registry runs as a single instance"),
    ("nats=3", "nats cannot be scaled"),
    ("worker=-1", "cannot be negative"),
    ("nosuch=1", "unknown service nosuch"),
])
def test_scale_refuses_what_cannot_be_done(souk: Souk, arg: str, message: str) -> None:
    result = souk.run("scale", arg)

    assert result.returncode == 2  # a refused argument, like every other command's
    assert message in result.stderr


def test_logs_merges_every_process_in_time_order(souk: Souk) -> None:
    result = souk.run("logs", "--lines", "400")

    assert result.returncode == 0, result.stderr
    stamped = [line for line in result.stdout.splitlines()
               if re.match(r"\d\d:\d\d:\d\d\.\d{3} ", line)]
    instances = {line.split()[1] for line in stamped}
    assert {"registry-1", "worker-1", "gateway-1", "supervisor"} <= instances
    times = [line[:12] for line in stamped]
    assert times == sorted(times)


def test_logs_of_one_service_only(souk: Souk) -> None:
    log = souk.home / "logs" / "gateway-1.log"  # the stand-in logs a tick every half second
    souk.wait_for(lambda: log.read_bytes().count(b"\n") >= 5, 10, "five lines of the gateway")
    result = souk.run("logs", "gateway", "-n", "5")

    lines = result.stdout.splitlines()
    assert result.returncode == 0 and len(lines) == 5
    assert all(line.split()[1] == "gateway-1" for line in lines)


def test_without_the_fault_proxy_a_heal_has_nothing_to_undo_and_a_partition_says_why(
        souk: Souk) -> None:
    healed = souk.run("fault", "heal")
    assert healed.returncode == 0 and "nothing to heal" in healed.stdout
    assert souk.run("fault", "heal", "worker").returncode == 0
    unknown = souk.run("fault", "heal", "nosuch")
    assert unknown.returncode == 2 and "unknown service nosuch" in unknown.stderr
    cut = souk.run("fault", "partition", "worker", "broker")
    assert cut.returncode == 2 and "fault_proxies = true" in cut.stderr


def test_down_stops_everything_and_leaves_no_process(souk: Souk) -> None:
    souk.state()
    assert souk.seen_pids

    result = souk.run("down")

    assert result.returncode == 0, result.stderr
    assert "stopped gateway-1" in result.stdout and "stopped supervisor" in result.stdout
    assert result.stdout.index("gateway-1") < result.stdout.index("nats-1")
    assert souk.alive() == []
    assert not (souk.home / "run" / "supervisor.pid").exists()
    again = souk.run("down")
    assert again.returncode == 0 and "not running" in again.stdout
    status = souk.run("status", "--json")
    assert (status.returncode, json.loads(status.stdout)) == (1, [])


def test_up_fails_naming_the_process_and_its_log_then_cleans_up(souk_factory: Factory) -> None:
    broken = souk_factory(workers=1, worker_module="souk_no_such_module", gateway=False)

    result = broken.up()

    assert result.returncode == 1
    assert "worker-1 exited 3 times before becoming ready" in result.stderr
    assert "No module named souk_no_such_module" in result.stderr
    broken.state()
    assert broken.alive() == []


def test_up_refuses_a_gateway_port_in_use(souk_factory: Factory) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        souk = souk_factory(gateway_port=port)

        result = souk.up()

    assert result.returncode == 1
    assert f"127.0.0.1:{port}, which is already in use" in result.stderr
    assert not (souk.home / "run" / "state.json").exists()


def test_two_ups_of_one_home_at_once_leave_it_running_once(souk_factory: Factory) -> None:
    """Two terminals, or a script, ran `souk up` together: the second cleared the first's state
    files and, once its supervisor had refused to run beside the first, stopped the first;
    both failed and nothing ran. Now the second waits for the first and finds it running."""
    souk = souk_factory(workers=1)
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}
    env.pop("SOUK_HOME", None)
    command = [sys.executable, "-m", "souk.main", "up", "--topology", str(souk.topology),
               "--timeout", "30", "--home", str(souk.home)]
    ups = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=souk.topology.parent) for _ in range(2)]
    outputs = [up.communicate(timeout=90) for up in ups]

    assert [up.returncode for up in ups] == [0, 0], outputs
    said = [out for out, _ in outputs]
    assert sum("Souk is up in" in out for out in said) == 1, said
    assert sum("Souk is already running" in out for out in said) == 1, said
    state = souk.state()
    assert state["phase"] == "running" and pid_alive(state["supervisor_pid"])
    assert all(p["ready"] for p in souk.status())


def test_a_log_past_its_size_is_rotated_while_the_platform_runs(souk_factory: Factory) -> None:
    """Logs grew without bound (a long `souk load` wrote hundreds of MB): past `[platform]
    log_max_mb` the supervisor moves a file's lines to `<name>.1` and empties it in place."""
    souk = souk_factory(workers=1, registry=False, gateway=False)
    souk.topology.write_text(souk.topology.read_text().replace(
        "[platform]\n", "[platform]\nlog_max_mb = 1\nlog_generations = 1\n"))
    assert souk.up().returncode == 0
    log = souk.home / "logs" / "worker-1.log"
    chatter = b'{"level": "info", "event": "chatter", "ts": "2026-12-07T08:00:00Z"}\n'
    with open(log, "ab") as chatty:  # as a chatty process appends to its own log
        chatty.write(chatter * (1_600_000 // len(chatter)))
    older = log.with_name("worker-1.log.1")
    souk.wait_for(older.exists, 20, "the log rotated")
    assert older.stat().st_size >= 1_600_000 and log.stat().st_size < 1 << 20
    said = (souk.home / "logs" / "supervisor.log").read_text()
    assert '"logs rotated"' in said and "worker-1.log" in said
    assert souk.run("logs", "worker-1", "-n", "3").returncode == 0


def test_children_die_with_a_killed_supervisor(souk_factory: Factory) -> None:
    souk = souk_factory(workers=1, registry=False, gateway=False)
    assert souk.up().returncode == 0
    state = souk.state()

    os.kill(state["supervisor_pid"], signal.SIGKILL)

    souk.wait_for(lambda: souk.alive() == [], 5.0, "every child gone with the supervisor")
    assert "not running" in souk.run("down").stdout


def test_a_topology_error_is_reported_before_anything_starts(souk_factory: Factory) -> None:
    souk = souk_factory()
    souk.topology.write_text("[services.worker]\ninstances = -2\n")

    result = souk.up()

    assert result.returncode == 2
    assert "services.worker.instances" in result.stderr
    assert not souk.home.exists()

