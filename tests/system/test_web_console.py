"""The operations console in a real browser against the whole platform: only an admin opens it
(a customer gets a 403 page, an anonymous visitor the sign-in form); the service map lists every
instance; an admin finds a checkout's saga timeline and trace waterfall; a real dead letter is
listed and replayed from the console."""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from .checkout_platform import Checkout, checkout_shop
from .conftest import ROOT, only_on
from .web_platform import (
    WEB_TOPOLOGY,
    keep_screenshot,
    serious_violations,
    sideways_on_phones,
    sign_in,
    visitor,
)

pytestmark = [pytest.mark.system, pytest.mark.browser]

engine = only_on("sqlite")  # the console reads the services over HTTP; see tests/system/conftest.py

POISON_SUBJECT = "souk.inventory.ReserveStock.v1"  # one consumer takes it: inventory
WAIT_MS = 30_000


# web_platform.web_shop's platform, its trace store keeping every trace (by default it keeps one
# in ten ordinary ones, and the checkout's waterfall is what this module looks at)
TOPOLOGY = WEB_TOPOLOGY.replace("[platform]\n", "[platform]\ntrace_keep_ratio = 1.0\n", 1)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Iterator[Checkout]:
    with checkout_shop(tmp_path_factory, "souk-web-console", TOPOLOGY, engine) as shop:
        yield shop


def as_admin(page: Page, shop: Checkout) -> None:
    admin = shop.users()["admin"]
    sign_in(page, admin["email"], admin["password"])
    expect(page.get_by_role("link", name="Console")).to_be_visible()


def reload_until(page: Page, url: str, visible: Any, seconds: float = 30) -> None:
    """Open ``url`` again until ``visible(page)`` (a locator) shows (bounded in time and
    count: what the page shows arrives asynchronously, e.g. spans in batches)."""
    deadline = time.monotonic() + seconds
    for _ in range(100):
        page.goto(url)
        try:
            expect(visible(page)).to_be_visible(timeout=1_000)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def test_only_an_admin_opens_the_console(shop: Checkout, browser: Browser) -> None:
    with visitor(browser, shop) as context:
        page = context.new_page()
        page.goto("/console/sagas")
        expect(page).to_have_url(re.compile(r"/signin\?next=/console/sagas$"))
        customer = shop.users()["customer"]
        page.get_by_label("E-mail").fill(customer["email"])
        page.get_by_label("Password").fill(customer["password"])
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("The console is for operators")
        expect(page.get_by_role("link", name="Console")).to_have_count(0)
        keep_screenshot(page, "console-refused-customer")
    # the page is a real 403, and so is every console route for the customer
    with requests.Session() as s:
        csrf = re.search(r'name="csrf" value="([^"]+)"', s.get(f"{shop.gateway}/signin",
                                                                timeout=10).text)
        assert csrf is not None
        s.post(f"{shop.gateway}/signin", timeout=10, data={
            "csrf": csrf[1], "email": customer["email"], "password": customer["password"],
            "next": "/"})
        for path in ("/console", "/console/dead-letters", "/console/invariants"):
            assert s.get(f"{shop.gateway}{path}", timeout=10).status_code == 403, path
    r = requests.get(f"{shop.gateway}/console", allow_redirects=False, timeout=10)
    assert r.status_code == 303 and r.headers["Location"] == "/signin?next=/console"


def test_the_service_map_shows_every_instance(shop: Checkout, browser: Browser) -> None:
    expected = {p["instance"] for p in shop.platform.status()
                if p["service"] not in ("nats", "registry", "fault-proxy")}
    with visitor(browser, shop) as context:
        page = context.new_page()
        as_admin(page, shop)
        page.get_by_role("link", name="Console").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Services")
        instances = page.get_by_role("table").first
        for instance in sorted(expected):
            expect(instances.get_by_role("rowheader", name=instance, exact=True)).to_be_visible()
        expect(instances.get_by_text("critical")).to_have_count(0)
        # the second look has rates: the live part refreshes itself (console.js)
        expect(page.get_by_role("row", name=re.compile(r"^orders \d"))).to_be_visible(
            timeout=WAIT_MS)
        keep_screenshot(page, "console-service-map")


def checkout(shop: Checkout) -> dict[str, Any]:
    """A new shopper's confirmed checkout, through identity and the gateway's API."""
    identity = shop.url_of("identity")
    email, password = f"console-{time.time_ns()}@souk.local", "correct horse battery staple"
    r = requests.post(f"{identity}/v1/signup", json={"email": email, "password": password},
                      timeout=10)
    assert r.status_code == 201, r.text
    token = requests.post(f"{identity}/v1/login", json={"email": email, "password": password},
                          timeout=10).json()["access_token"]
    auth = {"Authorization": f"Bearer {token}"}
    r = requests.put(f"{shop.gateway}/api/v1/cart/items/BOK-0008", json={"quantity": 1},
                     headers=auth, timeout=10)
    assert r.status_code == 200, r.text
    r = requests.post(f"{shop.gateway}/api/v1/orders", json={"card_token": "tok_visa"},
                      headers={**auth, "Idempotency-Key": f"console-{time.time_ns()}",
                               "Prefer": "wait=20"}, timeout=30)
    assert r.status_code in (200, 201, 202), r.text
    order = dict(r.json())
    assert order["status"] == "CONFIRMED", order
    return order


def test_an_admin_sees_a_checkouts_saga_timeline_and_trace_waterfall(
        shop: Checkout, browser: Browser) -> None:
    order = checkout(shop)
    with visitor(browser, shop) as context:
        page = context.new_page()
        as_admin(page, shop)
        page.goto("/console/sagas")
        latest = page.get_by_role("table", name="The latest orders, newest first")
        latest.get_by_role("link", name=order["id"]).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Order {order['id']}")
        timeline = page.get_by_role("list").filter(has_text="reserving stock")
        for step in ("reserve", "authorize"):
            expect(timeline.get_by_text(step, exact=True).first).to_be_visible()
        expect(timeline.get_by_role("listitem").last).to_contain_text("confirmed")
        # the spans reach the trace store in batches: look again until the waterfall is there
        reload_until(page, f"/console/orders/{order['id']}",
                     lambda p: p.get_by_role("table", name=re.compile("^Trace waterfall")))
        waterfall = page.get_by_role("table", name=re.compile("^Trace waterfall"))
        for service in ("gateway", "orders", "inventory", "payments"):
            expect(waterfall.get_by_role("cell", name=service, exact=True).first).to_be_visible()
        keep_screenshot(page, "console-saga-and-trace")
        # an id the service refuses finds nothing: a 404 page, not "unavailable" (a 503 the
        # console counted among the services' errors)
        for path in (f"/console/orders/{'a' * 65}", f"/console/traces/{'0' * 32}"):
            answer = page.goto(path)
            assert answer is not None and answer.status == 404, path
        answer = page.goto(f"/console/order?id={'a' * 65}")
        assert answer is not None and answer.status == 400


def in_thread(coro: Any) -> Any:
    """Run a coroutine on its own loop in another thread (Playwright's sync API holds this
    thread's)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout=60)


async def dead_letter(nats_url: str) -> int:
    """Publish an undecodable message to inventory's commands; the stream seq of the dead
    letter inventory makes of it."""
    import nats
    from nats.js.errors import NotFoundError

    msg_id = f"console-poison-{time.time_ns()}"
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await js.publish(POISON_SUBJECT, b"\x80\xff not json \xfe",
                         headers={"Nats-Msg-Id": msg_id})
        for _ in range(300):  # bounded: 30 s
            try:
                last = await js.get_last_msg("SOUK_DLQ", "souk-dlq.inventory")
                if (last.headers or {}).get("Nats-Msg-Id", "").endswith(msg_id) or \
                        msg_id in str(last.headers):
                    return int(last.seq or 0)
            except NotFoundError:
                pass
            await asyncio.sleep(0.1)
    finally:
        await nc.close()
    raise AssertionError(f"{msg_id} was not dead-lettered by inventory within 30 s")


def test_an_admin_replays_a_dead_letter(shop: Checkout, browser: Browser) -> None:
    nats_url = shop.platform.url_of("nats")
    seq = in_thread(dead_letter(nats_url))
    with visitor(browser, shop) as context:
        page = context.new_page()
        as_admin(page, shop)
        page.goto("/console")
        page.get_by_role("navigation", name="Console").get_by_role(
            "link", name="Dead letters").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Dead letters")
        row = page.get_by_role("row").filter(
            has=page.get_by_role("rowheader", name=str(seq), exact=True))
        expect(row).to_contain_text(POISON_SUBJECT)
        row.get_by_role("button", name=f"Replay dead letter {seq}").click()
        expect(page.get_by_role("status")).to_contain_text(f"Dead letter {seq} was replayed")
        # it stays listed, marked replayed by this admin, and cannot be replayed twice by a click
        expect(row).to_contain_text("Replayed")
        expect(row).to_contain_text(shop.users()["admin"]["email"])
        expect(page.get_by_role("button", name=f"Replay dead letter {seq}", exact=True)
               ).to_have_count(0)
        keep_screenshot(page, "console-dead-letter-replayed")


def admin_at_a_traced_order(page: Page, shop: Checkout) -> str:
    """A new checkout's id, its console page open as the admin once its trace is there."""
    order = checkout(shop)
    as_admin(page, shop)
    reload_until(page, f"/console/orders/{order['id']}",
                 lambda p: p.get_by_role("table", name=re.compile("^Trace waterfall")))
    return str(order["id"])


def test_the_console_pages_have_no_serious_accessibility_violation(
        shop: Checkout, browser: Browser) -> None:
    with visitor(browser, shop) as context:
        page = context.new_page()
        order = {"id": admin_at_a_traced_order(page, shop)}
        trace = page.get_by_role("link", name=re.compile("^[0-9a-f]{32}$")).inner_text()
        found = {}
        for path in ("/console", "/console/sagas", f"/console/orders/{order['id']}",
                     f"/console/traces/{trace}", "/console/dead-letters", "/console/invariants",
                     "/console/config", "/console/chaos"):
            page.goto(path)
            expect(page.get_by_role("heading", level=1)).to_have_count(1)
            found[path] = serious_violations(page)
        assert found == {path: [] for path in found}
        keep_screenshot(page, "console-config")


def test_on_a_phone_no_console_page_scrolls_sideways(shop: Checkout, browser: Browser) -> None:
    """A wide table scrolls inside its own region; the page itself fits the screen."""
    with visitor(browser, shop) as context:
        page = context.new_page()
        order = admin_at_a_traced_order(page, shop)
        found = sideways_on_phones(page, (
            "/console", "/console/sagas", f"/console/orders/{order}", "/console/dead-letters",
            "/console/invariants", "/console/config", "/console/chaos"))
        assert found == dict.fromkeys(found, 0)
        page.goto("/console/config")
        region = page.get_by_role("region", name="Every live setting per service")
        assert region.evaluate("e => e.scrollWidth > e.clientWidth")  # it does scroll, inside
        keep_screenshot(page, "console-config-on-a-phone")


def test_an_admin_changes_a_live_setting_and_a_bad_value_is_refused(
        shop: Checkout, browser: Browser) -> None:
    with visitor(browser, shop) as context:
        page = context.new_page()
        as_admin(page, shop)
        page.goto("/console/config")
        page.get_by_label("Setting", exact=True).fill("analytics.log_level")
        page.get_by_label("Value").fill("loud")
        page.get_by_role("button", name="Set").click()
        expect(page.get_by_role("alert")).to_contain_text("refused")
        expect(page.get_by_label("Value")).to_have_value("loud")  # the form keeps what was typed

        page.get_by_label("Value").fill("debug")
        page.get_by_role("button", name="Set").click()
        expect(page.get_by_role("status")).to_contain_text("analytics.log_level was set")
        # the analytics instance applies it and reports it running
        reload_until(page, "/console/config", lambda p: p.get_by_role(
            "row", name=re.compile(r'^analytics log_level "debug" "info" service')))
        keep_screenshot(page, "console-config-set")
    history = shop.souk("config", "history", "analytics.log_level").stdout
    assert shop.users()["admin"]["email"] in history


def test_an_admin_reads_the_chaos_experiments_and_how_to_run_them(shop: Checkout,
                                                                  browser: Browser) -> None:
    with visitor(browser, shop) as context:
        page = context.new_page()
        as_admin(page, shop)
        page.goto("/console")
        page.get_by_role("link", name="Chaos").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Chaos experiments")
        broker = page.get_by_role("region", name="Kill the broker under load")
        expect(broker).to_contain_text("souk chaos run kill-the-broker")
        expect(broker).to_contain_text("Hypothesis")
        expect(page.get_by_role("heading", level=2)).to_have_count(
            len(list((ROOT / "chaos" / "experiments").glob("*.json"))))
        keep_screenshot(page, "console-chaos")
