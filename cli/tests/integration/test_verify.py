"""``souk verify`` and ``souk replay analytics`` end to end against a stand-in platform: one
aiohttp server plays every service's admin API (each service under its own path prefix), a real
nats-server holds SOUK_DLQ."""

import asyncio
import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from aiohttp import web
from nats.js import api
from typer.testing import CliRunner

from chassis.testing import free_port, nats_server
from souk import control
from souk.credentials import DemoUser, DemoUsers, _write_demo_users
from souk.home import Home
from souk.main import app
from souk.state import write_json_atomic

pytestmark = pytest.mark.integration

MESSAGING = ("orders", "inventory", "payments", "notifications", "analytics")


def data() -> dict[str, list[dict[str, Any]]]:
    orders = [{"id": f"o{n}", "user_id": "u", "status": "CONFIRMED", "total_minor": 500,
               "currency": "EUR", "lines": [{"sku": "S", "quantity": 1, "unit_price_minor": 500}]}
              for n in range(5)]
    return {
        "orders/v1/admin/orders": orders,
        "inventory/v1/admin/stock": [{"sku": "S", "initial": 9, "available": 4, "reserved": 0,
                                      "sold": 5}],
        "inventory/v1/admin/reservations": [
            {"order_id": o["id"], "status": "COMMITTED", "lines": [{"sku": "S", "quantity": 1}]}
            for o in orders],
        "payments/v1/admin/payments": [
            {"order_id": o["id"], "user_id": "u", "status": "CAPTURED", "authorized_minor": 500,
             "captured_minor": 500, "refunded_minor": 0, "net_minor": 500, "captures": 1,
             "voided": False} for o in orders],
        "notifications/v1/admin/notifications": [
            {"order_id": o["id"], "user_id": "u", "kinds": ["order-confirmed"], "count": 1}
            for o in orders],
    }


class FakePlatform:
    def __init__(self) -> None:
        self.data = data()
        self.dead_letters = 0
        self.pending = 0
        self.drain_after = 0  # messaging answers still showing the pending rows
        self.logins = 0
        self.reject_next = False  # answer the next admin call 401, as for an expired token
        self.summary: dict[str, Any] = {"orders": 5, "revenue": {"EUR": 2500}}
        self.rebuilt: dict[str, Any] = dict(self.summary)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"

    def app(self) -> web.Application:
        routes = web.RouteTableDef()

        @routes.post("/identity/v1/login")
        async def login(request: web.Request) -> web.Response:
            self.logins += 1
            return web.json_response({"access_token": f"t{self.logins}"})

        @routes.get("/{service}/v1/admin/messaging")
        async def messaging(request: web.Request) -> web.Response:
            service = request.match_info["service"]
            if service not in MESSAGING:
                raise web.HTTPNotFound
            if self.pending and self.drain_after:
                self.drain_after -= 1
                if not self.drain_after:
                    self.pending = 0
            return web.json_response({"outbox": {"pending": self.pending,
                                                 "oldest_pending_age_s": 0.5},
                                      "dead_letters": self.dead_letters if service == "payments"
                                      else 0, "consumers": {service: {}}})

        @routes.get("/analytics/v1/analytics/summary")
        async def summary(request: web.Request) -> web.Response:
            return web.json_response(self.summary)

        @routes.post("/analytics/v1/admin/replay")
        async def replay(request: web.Request) -> web.Response:
            return web.json_response({"replayed": 12, "summary": self.rebuilt})

        @routes.get("/{path:.*}")
        async def listing(request: web.Request) -> web.Response:
            if request.headers.get("Authorization") != f"Bearer t{self.logins}" or \
                    self.reject_next:
                self.reject_next = False
                raise web.HTTPUnauthorized
            items = self.data.get(request.match_info["path"])
            if items is None:
                raise web.HTTPNotFound
            start = int(request.query.get("cursor", "0"))
            page = items[start:start + 2]  # pages of two, whatever the limit: paging is tested
            more = start + 2 < len(items)
            return web.json_response({"items": page, "next": str(start + 2) if more else None})

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


def process(service: str, base: str, slot: int = 1) -> dict[str, Any]:
    return {"service": service, "instance": f"{service}-{slot}", "slot": slot, "pid": 1,
            "port": 1, "url": f"{base}/{service}", "ready_url": "", "ready": True, "restarts": 0,
            "status": "running", "started_at": None, "log": ""}


@pytest.fixture
def platform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakePlatform, Home]]:
    fake = FakePlatform()
    home = Home(tmp_path / "home")
    home.create()
    with nats_server(tmp_path / "js") as nats_url, fake.serve():
        services = ["identity", "gateway", *MESSAGING]
        procs = [process(s, fake.url) for s in services] + [process("orders", fake.url, 2)]
        write_json_atomic(home.state_file, {
            "supervisor_pid": 1, "phase": "running", "home": str(home.root), "topology": "",
            "nats_url": nats_url, "registry_url": None, "gateway_url": f"{fake.url}/gateway",
            "desired": dict.fromkeys(services, 1), "processes": procs, "updated_at": ""})
        _write_demo_users(home, DemoUsers(DemoUser("admin@souk.local", "pw"),
                                          DemoUser("customer@souk.local", "pw")))
        monkeypatch.setattr(control, "running_pid", lambda _: 1)
        fake.nats_url = nats_url
        yield fake, home


def run(home: Home, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*args, "--home", str(home.root)])
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, result.stdout


async def dead_letter(nats_url: str, consumer: str) -> None:
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    await js.add_stream(api.StreamConfig(name="SOUK_DLQ", subjects=["souk-dlq.>"]))
    await js.publish(f"souk-dlq.{consumer}", b"{}", headers={"Souk-Msg-Id": "m1"})
    await nc.close()


def test_a_consistent_platform_verifies_ok_reading_every_page(
        platform: tuple[FakePlatform, Home]) -> None:
    fake, home = platform

    code, output = run(home, "verify", "--json")

    assert code == 0, output
    report = json.loads(output)
    assert report["ok"] is True
    assert report["violations"] == []
    assert {k: report["counts"][k] for k in ("orders", "confirmed", "cancelled", "skus",
                                              "payments", "notifications", "dead_letters")} == {
        "orders": 5, "confirmed": 5, "cancelled": 0, "skus": 1, "payments": 5,
        "notifications": 5, "dead_letters": 0}
    assert fake.logins == 1


def test_violations_exit_1_and_are_listed(platform: tuple[FakePlatform, Home]) -> None:
    fake, home = platform
    fake.data["orders/v1/admin/orders"][3]["status"] = "PENDING"
    fake.pending = 2

    code, output = run(home, "verify", "--json")

    assert code == 1
    violations = json.loads(output)["violations"]
    assert {(v["check"], v["subject"]) for v in violations} == {
        ("orders-terminal", "o3"), ("revenue", "all orders"),
        *(("outbox-drained", service) for service in MESSAGING)}


def test_wait_polls_until_the_outboxes_drain_then_judges(
        platform: tuple[FakePlatform, Home]) -> None:
    fake, home = platform
    fake.pending, fake.drain_after = 4, len(MESSAGING) * 2

    result = CliRunner().invoke(app, ["verify", "--json", "--wait", "20", "--home",
                                      str(home.root)])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["ok"] is True
    assert "4 outbox rows pending" not in result.stdout
    assert "waiting:" in result.stderr


def test_wait_gives_up_after_its_time_and_reports_what_is_left(
        platform: tuple[FakePlatform, Home]) -> None:
    fake, home = platform
    fake.pending = 1

    result = CliRunner().invoke(app, ["verify", "--wait", "1", "--home", str(home.root)])

    assert result.exit_code == 1
    assert "gave up waiting" in result.stderr
    assert "outbox-drained" in result.stdout


def test_a_dead_letter_recorded_but_missing_from_the_dlq_is_a_violation(
        platform: tuple[FakePlatform, Home]) -> None:
    fake, home = platform
    fake.dead_letters = 1

    code, output = run(home, "verify", "--json")
    assert code == 1
    assert [v["subject"] for v in json.loads(output)["violations"]] == ["payments"]

    asyncio.run(dead_letter(fake.nats_url, "payments"))
    code, output = run(home, "verify", "--json")
    assert code == 0, output
    assert json.loads(output)["counts"]["dead_letters"] == 1


def test_an_expired_admin_token_is_replaced_once(platform: tuple[FakePlatform, Home]) -> None:
    fake, home = platform
    fake.reject_next = True

    code, _ = run(home, "verify", "--json")

    assert code == 0
    assert fake.logins == 2


def test_the_human_report_shows_each_check(platform: tuple[FakePlatform, Home]) -> None:
    _, home = platform

    code, output = run(home, "verify")

    assert code == 0
    assert "stock-balance" in output and "every invariant holds" in output


def test_a_platform_read_under_load_is_said_not_at_rest(
        platform: tuple[FakePlatform, Home]) -> None:
    """`souk verify` during `souk load` listed checkouts in flight as violations, and nothing
    said why; read at rest, the same report carries no such note."""
    fake, home = platform
    fake.data["orders/v1/admin/orders"][3]["status"] = "PENDING"
    fake.pending = 2

    code, output = run(home, "verify")

    assert code == 1 and "orders-terminal" in output
    said = " ".join(output.split())
    assert "not at rest when read (1 orders not terminal, " in said
    assert "Verify once the load has stopped, or with --wait SECONDS" in said
    fake.data["orders/v1/admin/orders"][3]["status"] = "CONFIRMED"
    fake.pending = 0
    code, output = run(home, "verify")
    assert code == 0 and "not at rest" not in output


def test_replay_analytics_compares_the_summaries(platform: tuple[FakePlatform, Home]) -> None:
    fake, home = platform

    code, output = run(home, "replay", "analytics")
    assert code == 0
    assert "identical" in output

    fake.rebuilt = {"orders": 4, "revenue": {"EUR": 2000}}
    code, output = run(home, "replay", "analytics")
    assert code == 1
    assert "DIFFERENT" in output


def test_a_paused_instance_is_named_with_the_way_out_and_not_waited_for(
        platform: tuple[FakePlatform, Home]) -> None:
    """A paused instance holds no answer: verify says which one and how to resume it, without
    asking it (it waited 30 s for each read of it, then named only its URL)."""
    _, home = platform
    state = json.loads(home.state_file.read_text())
    for proc in state["processes"]:
        if proc["instance"] == "notifications-1":
            proc.update(status="paused", paused=True, ready=False)
    write_json_atomic(home.state_file, state)
    result = CliRunner().invoke(app, ["verify", "--wait", "2", "--home", str(home.root)])
    said = " ".join(result.stderr.split())
    assert result.exit_code == 2, result.output
    assert "notifications-1 is paused: souk fault resume notifications-1" in said
