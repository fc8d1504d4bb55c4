"""The whole platform with the web front end under `souk up`, and a real chromium driven by
Playwright, shared by the browser tests (test_web_*.py).

Chromium is Debian's (/usr/bin/chromium; `.ci/run` installs it), never a browser Playwright
downloads. Each journey's last page is kept as a screenshot under ``var/test-artifacts/browser``
(or ``$SOUK_TEST_ARTIFACTS``)."""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

from .checkout_platform import CHECKOUT_TOPOLOGY, Checkout, shared_shop
from .conftest import ROOT

CHROMIUM = Path(os.environ.get("SOUK_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-quic"]
ARTIFACTS = Path(os.environ.get("SOUK_TEST_ARTIFACTS", ROOT / "var" / "test-artifacts")) / "browser"

# the checkout platform, plus the trace store (the console's waterfall) and the front end
# the browser tests sign in dozens of times from one address: past the edge's log-in limit
WEB_TOPOLOGY = CHECKOUT_TOPOLOGY.replace(
    'GATEWAY_RATE_LIMIT = "100000/minute"',
    'GATEWAY_RATE_LIMIT = "100000/minute", GATEWAY_LOGIN_RATE_LIMIT = "100000/minute"', 1) + """
[services.telemetry]
instances = 1
database = true

[services.web]
instances = 1
database = true
"""

if not CHROMIUM.exists():
    pytest.skip(f"the browser tests need Debian's chromium at {CHROMIUM} "
                "(apt-get install -y chromium; .ci/run installs it)", allow_module_level=True)

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright  # noqa: E402

# axe-core's WCAG 2.1 A and AA rules and its best practices
AXE_OPTIONS = {"resultTypes": ["violations"],
               "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa",
                                                     "best-practice"]}}


def web_shop(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Checkout:
    """The platform with the web front end on ``engine``, shared by the browser modules of the
    "web" group (checkout_platform.SHARED)."""
    return shared_shop(tmp_path_factory, engine, "web", WEB_TOPOLOGY)


@contextlib.contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def visitor(browser: Browser, shop: Checkout, *, javascript: bool = True
            ) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) pointed at the gateway."""
    context = browser.new_context(base_url=shop.gateway, java_script_enabled=javascript)
    context.set_default_timeout(15_000)
    try:
        yield context
    finally:
        context.close()


def keep_screenshot(page: Page, name: str) -> Path:
    """The page as it is now, kept as a test artifact."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def new_shopper(page: Page) -> tuple[str, str]:
    """Sign up through the storefront's form; the browser is then signed in. (e-mail, password)"""
    email = f"shopper-{time.time_ns()}@souk.local"
    password = f"correct horse battery {time.time_ns() % 10**6}"
    page.goto("/signup")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(re.compile(r"/$"))
    return email, password


def sign_in(page: Page, email: str, password: str) -> None:
    page.goto("/signin")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


PHONE_WIDTHS = (360, 390)  # the commonest phone screens, in CSS pixels


def sideways(page: Page) -> int:
    """How many pixels the page as it is now scrolls sideways (0: it fits its viewport)."""
    return int(page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"))


def sideways_on_phones(page: Page, paths: Iterable[str]) -> dict[tuple[int, str], int]:
    """How far each page scrolls sideways at each of :data:`PHONE_WIDTHS` (0: it fits); the
    viewport stays at the last width."""
    found = {}
    for width in PHONE_WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        for path in paths:
            page.goto(path)
            found[(width, path)] = sideways(page)
    return found


def serious_violations(page: Page) -> list[str]:
    """What axe-core finds serious or critical on the page as it is now, one line each."""
    results = Axe().run(page, options=AXE_OPTIONS)
    return [f"{v['id']} ({v['impact']}): {v['help']} at "
            f"{', '.join(str(n['target']) for n in v['nodes'][:3])}"
            for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
