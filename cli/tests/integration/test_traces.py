"""``souk trace`` and ``souk traces`` end to end against a stand-in telemetry and identity (one
aiohttp server, each service under its own path prefix), as the demo admin."""

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from typer.testing import CliRunner

from chassis.testing import free_port
from souk import console, control
from souk.credentials import DemoUser, DemoUsers, _write_demo_users
from souk.home import Home
from souk.main import app
from souk.state import write_json_atomic

pytestmark = pytest.mark.integration

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
T0 = 1_767_225_600_000_000_000
SUMMARY = {"trace_id": TRACE, "root_service": "gateway", "root_name": "POST /api/v1/orders",
           "has_root": True, "start_ns": T0, "end_ns": T0 + 42_000_000, "duration_ms": 42.0,
           "span_count": 2, "services": ["gateway", "orders"], "error": False, "order_id": "o-7"}
ROOT = {"trace_id": TRACE, "span_id": "00f067aa0ba902b7", "parent_span_id": None,
        "service": "gateway", "instance": "gateway-1", "name": "POST /api/v1/orders",
        "kind": "server", "start_ns": T0, "end_ns": T0 + 42_000_000, "duration_ms": 42.0,
        "status": "unset", "status_message": "", "attributes": {}, "events": []}
CHILD = {**ROOT, "span_id": "00f067aa0ba902b8", "parent_span_id": "00f067aa0ba902b7",
         "service": "orders", "name": "saga checkout", "kind": "internal",
         "start_ns": T0 + 2_000_000, "duration_ms": 30.0, "attributes": {"souk.order_id": "o-7"}}
DETAIL = {"trace_id": TRACE, "summary": SUMMARY, "spans": [ROOT, CHILD],
          "tree": [{**ROOT, "children": [{**CHILD, "children": []}]}]}


class FakeTelemetry:
    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.searches: list[dict[str, str]] = []

    def app(self) -> web.Application:
        routes = web.RouteTableDef()

        @routes.post("/identity/v1/login")
        async def login(request: web.Request) -> web.Response:
            return web.json_response({"access_token": "admin-token"})

        @routes.get("/telemetry/v1/traces")
        async def search(request: web.Request) -> web.Response:
            assert request.headers["Authorization"] == "Bearer admin-token"
            self.searches.append(dict(request.query))
            found = request.query.get("order_id") in (None, "o-7")
            return web.json_response({"items": [SUMMARY] if found else [], "next": None})

        @routes.get("/telemetry/v1/traces/{trace_id}")
        async def one(request: web.Request) -> web.Response:
            if request.match_info["trace_id"] != TRACE:
                return web.json_response({"type": "x", "title": "Not Found", "status": 404,
                                          "detail": "no trace (never received, or pruned)"},
                                         status=404, content_type="application/problem+json")
            return web.json_response(DETAIL)

        application = web.Application()
        application.add_routes(routes)
        return application

    @contextlib.contextmanager
    def serve(self) -> Iterator[None]:
        loop = asyncio.new_event_loop()
        runner = web.AppRunner(self.app())
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        thread = threading.Thread(target=loop.run_forever, daemon=True)
        thread.start()
        try:
            yield
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(5)
            loop.run_until_complete(runner.cleanup())
            loop.close()


def process(service: str, base: str) -> dict[str, Any]:
    return {"service": service, "instance": f"{service}-1", "slot": 1, "pid": 1, "port": 1,
            "url": f"{base}/{service}", "ready_url": "", "ready": True, "restarts": 0,
            "status": "running", "started_at": None, "log": ""}


def platform_home(tmp_path: Path, base: str, services: list[str]) -> Home:
    home = Home(tmp_path / "home")
    home.create()
    write_json_atomic(home.state_file, {
        "supervisor_pid": 1, "phase": "running", "home": str(home.root), "topology": "",
        "nats_url": "nats://127.0.0.1:1", "registry_url": None, "gateway_url": None,
        "desired": dict.fromkeys(services, 1), "processes": [process(s, base) for s in services],
        "updated_at": ""})
    _write_demo_users(home, DemoUsers(DemoUser("admin@souk.local", "pw"),
                                      DemoUser("customer@souk.local", "pw")))
    return home


@pytest.fixture
def telemetry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeTelemetry, Home]]:
    fake = FakeTelemetry()
    monkeypatch.setattr(control, "running_pid", lambda _: 1)
    with fake.serve():
        yield fake, platform_home(tmp_path, fake.url, ["identity", "telemetry"])


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's consoles take their width when made, at import: COLUMNS given to CliRunner below
    reaches them only if this process imported the CLI under it (not so when tests run in
    parallel workers, in another order)."""
    for stream in (console.out, console.err):
        monkeypatch.setattr(stream, "width", 200)


def run(home: Home, *args: str) -> tuple[int, str, str]:
    env = {"COLUMNS": "200", "NO_COLOR": "1"}
    result = CliRunner().invoke(app, [*args, "--home", str(home.root)], env=env)
    return result.exit_code, result.stdout, result.stderr


def test_souk_trace_prints_the_tree_of_spans(telemetry: tuple[FakeTelemetry, Home]) -> None:
    _, home = telemetry

    code, out, _ = run(home, "trace", TRACE.upper())

    assert code == 0
    assert f"trace {TRACE}" in out
    assert "+0.0 ms gateway POST /api/v1/orders server 42.0 ms unset" in out
    assert "+2.0 ms orders saga checkout internal 30.0 ms unset order=o-7" in out


def test_souk_trace_of_an_order_finds_its_traces_by_the_order_id(
        telemetry: tuple[FakeTelemetry, Home]) -> None:
    fake, home = telemetry

    code, out, _ = run(home, "trace", "--order", "o-7", "--json")

    assert code == 0
    assert json.loads(out) == [DETAIL]
    assert fake.searches[-1]["order_id"] == "o-7"
    code, _, err = run(home, "trace", "--order", "o-unknown")
    assert code == 1 and "no trace of order o-unknown" in err


def test_souk_traces_lists_with_the_filters_passed_through(
        telemetry: tuple[FakeTelemetry, Home]) -> None:
    fake, home = telemetry

    code, out, _ = run(home, "traces", "--service", "orders", "--operation", "saga checkout",
                       "--errors", "--min-ms", "5", "--limit", "7")

    assert code == 0
    assert fake.searches[-1] == {"service": "orders", "operation": "saga checkout",
                                 "status": "error", "min_duration_ms": "5.0", "limit": "7"}
    assert TRACE in out and "gateway: POST /api/v1/orders" in out
    code, out, _ = run(home, "traces", "--json")
    assert (code, json.loads(out)) == (0, [SUMMARY])


def test_an_unknown_trace_and_a_malformed_id_are_clear_errors(
        telemetry: tuple[FakeTelemetry, Home]) -> None:
    _, home = telemetry

    code, _, err = run(home, "trace", "ab" * 16)
    # telemetry answered: the trace is not there, which the store's keep rule may explain
    assert code == 1 and f"no trace {'ab' * 16}." in err and "trace_keep_ratio" in err
    assert "did not answer" not in err
    code, _, err = run(home, "trace", "not-a-trace")
    assert code == 2 and "not a trace id" in err
    code, _, err = run(home, "trace")
    assert code == 2 and "TRACE_ID" in err


def test_without_telemetry_or_without_a_platform_the_commands_say_so(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = platform_home(tmp_path, "http://127.0.0.1:1", ["identity"])
    monkeypatch.setattr(control, "running_pid", lambda _: 1)
    code, _, err = run(home, "traces")
    assert code == 2 and "runs no telemetry service" in err

    monkeypatch.setattr(control, "running_pid", lambda _: None)
    code, _, err = run(home, "trace", TRACE)
    assert code == 2 and "souk is not running" in err


def test_a_telemetry_that_does_not_answer_is_a_platform_not_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = platform_home(tmp_path, "http://127.0.0.1:1", ["identity", "telemetry"])
    monkeypatch.setattr(control, "running_pid", lambda _: 1)

    code, _, err = run(home, "traces")

    assert code == 2 and "did not answer" in err
