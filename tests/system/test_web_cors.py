"""CORS in a real browser: a page of another origin (another port of loopback) calls the API
through the gateway with a bearer token, which makes the browser send a preflight first. It
cannot as shipped, can once `souk config set gateway.cors_origins` names its origin (and read
the request id the gateway exposes), and cannot once that is unset."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import Browser, Page

from .checkout_platform import Checkout
from .conftest import only_on
from .web_platform import web_shop

pytestmark = [pytest.mark.system, pytest.mark.browser]

engine = only_on("sqlite")  # the gateway's behaviour; see tests/system/conftest.py

PAGE = b"<!doctype html><html lang=en><title>another origin</title><p>a shop elsewhere</p>"
# what a page's script does: the API's answer as far as the browser lets the page see it
FETCH = """async ([url, init]) => {
  try {
    const r = await fetch(url, init);
    return {status: r.status, requestId: r.headers.get('x-request-id')};
  } catch (e) {
    return {error: String(e)};
  }
}"""


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Checkout:
    return web_shop(tmp_path_factory, engine)  # one platform per engine, see SHARED


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def elsewhere() -> Iterator[str]:
    """The origin of a page served on another port (a shop on a CDN, a dev server)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def until(what: str, check: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {within} s"
        time.sleep(0.2)


def test_a_page_of_another_origin_calls_the_api_once_its_origin_is_allowed(
        shop: Checkout, browser: Browser, elsewhere: str) -> None:
    user = shop.users()["customer"]
    login = requests.post(f"{shop.gateway}/api/v1/identity/login", timeout=10,
                          json={"email": user["email"], "password": user["password"]})
    assert login.status_code == 200, login.text
    bearer = {"Authorization": f"Bearer {login.json()['access_token']}"}
    orders = [f"{shop.gateway}/api/v1/orders?limit=1", {"headers": bearer}]
    cart = [f"{shop.gateway}/api/v1/cart", {"method": "DELETE", "headers": bearer}]
    context = browser.new_context()
    try:
        page: Page = context.new_page()
        page.goto(elsewhere + "/")

        def seen(call: list[Any]) -> dict[str, Any]:
            return dict(page.evaluate(FETCH, call))

        assert "error" in seen(orders)  # as shipped: the browser keeps the API from the page
        try:
            shop.souk("config", "set", "gateway.cors_origins", json.dumps([elsewhere]))
            until("the page reads its orders", lambda: seen(orders).get("status") == 200)
            answer = seen(orders)
            assert answer["requestId"]  # an exposed header: readable by the page
            assert seen(cart)["status"] == 204  # another method, preflighted alike
        finally:
            shop.souk("config", "unset", "gateway.cors_origins")
        until("the page kept from the API again", lambda: "error" in seen(orders))
    finally:
        context.close()
