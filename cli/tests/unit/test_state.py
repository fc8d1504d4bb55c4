import os
import subprocess
from pathlib import Path

import pytest
from rich.console import Console

from souk.render import progress_line, status_rows, status_table
from souk.state import (
    State,
    looks_like,
    pid_alive,
    read_json,
    read_state,
    still_runs,
    updating,
    write_json_atomic,
)

pytestmark = pytest.mark.unit


def a_state(**changes: object) -> State:
    data: dict[str, object] = {
        "supervisor_pid": 10, "phase": "running", "home": "/h", "topology": "/t.toml",
        "nats_url": "nats://127.0.0.1:1", "registry_url": None, "gateway_url": None,
        "desired": {"w": 2}, "updated_at": "2026-01-01T00:00:00+00:00",
        "processes": [
            {"service": "w", "instance": f"w-{n}", "slot": n, "pid": 100 + n, "port": 2000 + n,
             "url": f"http://127.0.0.1:{2000 + n}", "ready_url": "x", "ready": n == 1,
             "restarts": 0, "status": "running", "started_at": None, "log": f"/h/w-{n}.log"}
            for n in (1, 2)],
    }
    return State.model_validate(data | changes)


def test_state_round_trips_through_an_atomic_write(tmp_path: Path) -> None:
    path = tmp_path / "state.json"

    write_json_atomic(path, a_state().model_dump(mode="json"))

    assert read_state(path) == a_state()
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_a_missing_or_foreign_state_file_reads_as_none(tmp_path: Path) -> None:
    (tmp_path / "other.json").write_text('{"hello": 1}')
    (tmp_path / "broken.json").write_text("{")

    assert read_state(tmp_path / "missing.json") is None
    assert read_state(tmp_path / "other.json") is None
    assert read_json(tmp_path / "broken.json") is None


def test_this_process_is_alive_and_looks_like_python() -> None:
    assert pid_alive(os.getpid())
    assert looks_like(os.getpid(), "python") or looks_like(os.getpid(), "pytest")
    assert not looks_like(os.getpid(), "no-such-program-name")
    assert looks_like(os.getpid(), "")


@pytest.mark.parametrize("gone", [ProcessLookupError, FileNotFoundError])
def test_a_process_that_ends_between_the_signal_and_its_stat_is_not_alive(
        monkeypatch: pytest.MonkeyPatch, gone: type[OSError]) -> None:
    """Reading /proc/PID/stat of a process that has just ended raises ESRCH; a test's copy of
    this check let it through (CI failed on it once)."""
    def vanished(self: Path, *args: object, **kwargs: object) -> str:
        raise gone
    monkeypatch.setattr(Path, "read_text", vanished)
    assert not pid_alive(os.getpid())


def test_a_pid_still_runs_only_while_alive_and_the_same_program() -> None:
    assert still_runs(os.getpid(), "")
    assert not still_runs(os.getpid(), "no-such-program-name")
    child = subprocess.Popen(["sleep", "0"])
    child.wait()  # reaped: its pid runs nothing now
    assert not still_runs(child.pid, "")


def test_status_rows_carry_what_status_json_promises() -> None:
    rows = status_rows(a_state(), ready=[False, True])

    assert [(r["instance"], r["ready"], r["pid"], r["port"]) for r in rows] == [
        ("w-1", False, 101, 2001), ("w-2", True, 102, 2002)]
    assert {"service", "instance", "pid", "url", "ready", "restarts", "port"} <= set(rows[0])


def test_the_status_table_shows_every_url_whole_on_an_80_column_terminal() -> None:
    rows = [{"service": "notifications", "instance": f"notifications-{n}", "pid": 4_194_300 + n,
             "url": f"http://127.0.0.1:{65_530 + n}", "ready": n == 1, "status": "starting",
             "restarts": 12} for n in (1, 2)]
    console = Console(width=80, record=True, color_system=None)

    console.print(status_table(rows))

    text = console.export_text()
    assert "http://127.0.0.1:65531" in text and "http://127.0.0.1:65532" in text
    assert "notifications-2" in text and "starting" in text
    assert all(len(line.rstrip()) <= 80 for line in text.splitlines())


def test_the_status_table_shows_no_pid_for_an_instance_whose_process_has_exited() -> None:
    rows = [{"instance": f"catalog-{n}", "pid": 23_880 + n, "url": f"http://127.0.0.1:{n}",
             "ready": status == "running", "status": status, "restarts": 1}
            for n, status in enumerate(("running", "held", "backoff", "stopped"), start=1)]
    console = Console(width=80, record=True, color_system=None)

    console.print(status_table(rows))

    pids = {line.split()[0]: line.split()[2] for line in console.export_text().splitlines()
            if line.startswith("catalog-")}
    assert pids == {"catalog-1": "23881", "catalog-2": "-", "catalog-3": "-", "catalog-4": "-"}


def test_progress_names_what_is_not_ready_yet() -> None:
    assert progress_line(None) == "starting the supervisor…"
    assert progress_line(a_state()) == "1/2 ready, waiting for w-2"


def test_status_json_gives_no_pid_for_an_instance_whose_process_has_exited() -> None:
    """The last pid of a held or restarting instance may belong to another process by now: a
    script must not signal it."""
    state = a_state()
    state.processes[1].status = "held"
    state.processes[1].held = True
    assert [r["pid"] for r in status_rows(state)] == [101, None]


def test_why_no_identity_answers_says_which_instance_and_the_way_out() -> None:
    from souk.identity_client import no_identity

    def with_identity(**proc: object) -> State:
        state = a_state()
        state.processes[0].service, state.processes[0].instance = "identity", "identity-1"
        state.processes[0].ready = False
        for key, value in proc.items():
            setattr(state.processes[0], key, value)
        return state

    assert "the topology has none" in no_identity(a_state())
    assert no_identity(with_identity(status="held", held=True)) == (
        "no ready identity instance: identity-1 is held and not running "
        "(souk release identity-1)")
    assert "identity-1 is paused (souk fault resume identity-1)" in no_identity(
        with_identity(status="paused", paused=True))
    assert "identity-1 exited and is about to be restarted" in no_identity(
        with_identity(status="backoff"))


def test_the_status_table_says_which_ready_instance_is_degraded_and_why() -> None:
    """A service without its broker answers ready (degraded): status showed "yes" for every
    one of them while the broker was down."""
    rows = status_rows(a_state(), ready=[True, True], degraded=[("broker",), ()])
    assert [r["degraded"] for r in rows] == [["broker"], []]
    console = Console(width=100, record=True, color_system=None)
    console.print(status_table(rows))
    lines = {line.split()[0]: line for line in console.export_text().splitlines()
             if line.startswith("w-")}
    assert "degraded: no broker" in lines["w-1"] and "yes" in lines["w-2"]


def test_changes_made_at_once_under_updating_all_land_and_files_are_owner_only(
        tmp_path: Path) -> None:
    """Four `souk fault slow` at once each read the faults file, added theirs and wrote it: one
    of the four was sometimes lost."""
    import threading
    import time

    path = tmp_path / "net-faults.json"
    write_json_atomic(path, {"faults": {}})

    def add(name: str) -> None:
        with updating(path):
            data = read_json(path)
            assert isinstance(data, dict)
            time.sleep(0.01)  # the window another writer used to fall into
            write_json_atomic(path, {"faults": {**data["faults"], name: "slow"}})

    threads = [threading.Thread(target=add, args=(f"s{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    data = read_json(path)
    assert isinstance(data, dict) and sorted(data["faults"]) == [f"s{i}" for i in range(8)]
    assert path.stat().st_mode & 0o777 == 0o600
