"""The storefront in a real browser, against the whole platform: a shopper signs up, searches,
fills a cart and checks out; the order page follows the checkout's saga live (JavaScript on) or
lands on its outcome (JavaScript off); a declined card cancels the order with a clear message and
gives the stock back; the pages stay light."""

from __future__ import annotations

import json
import os
import re
import signal
import time

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from .checkout_platform import Checkout
from .web_platform import (
    keep_screenshot,
    new_shopper,
    serious_violations,
    visitor,
    web_shop,
)

pytestmark = [pytest.mark.system, pytest.mark.browser]

ORDER_URL = re.compile(r"/orders/[0-9a-f-]{36}$")
MAX_PAGE_BYTES = 150 * 1024


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Checkout:
    return web_shop(tmp_path_factory, engine)  # one platform per engine, see SHARED


def _search(page: Page, text: str) -> None:
    page.get_by_role("searchbox", name="Search products").fill(text)
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(text)


def _add(page: Page, product: str, quantity: int = 1) -> str:
    """Open ``product`` from the results and add it to the cart; its SKU."""
    page.get_by_role("link", name=product, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(product)
    sku = page.locator(".facts dd").first.inner_text()
    page.get_by_label("Quantity").fill(str(quantity))
    page.get_by_role("button", name="Add to cart").click()
    expect(page.get_by_role("status")).to_contain_text(f"Added to your cart: {product}")
    return sku


def _check_out(page: Page, card: str, *, javascript: bool = True) -> str:
    """From the cart: pay with the test card ``card``; the order's id."""
    page.get_by_role("link", name="Check out").click()
    # app.js tells the server it runs (then the checkout does not wait for the outcome)
    expect(page.locator("input[name=js]")).to_have_value("1" if javascript else "0")
    page.get_by_role("radio", name=re.compile(card)).check()
    page.get_by_role("button", name="Place order").click()
    page.wait_for_url(ORDER_URL)
    return page.url.rsplit("/", 1)[-1]


def _live_steps_done(page: Page, *steps: str) -> None:
    live = page.locator("[aria-live=polite]")
    for step in steps:
        expect(live.get_by_role("listitem").filter(has_text=step)).to_have_class(
            "done", timeout=30_000)


def _stock(shop: Checkout, sku: str) -> int:
    r = requests.get(f"{shop.gateway}/api/v1/inventory/stock/{sku}", timeout=10)
    assert r.status_code == 200, r.text
    return int(r.json()["available"])


def _payments_latency(shop: Checkout, ms: int | None) -> None:
    """Set (None: unset) the fake card processor's latency, and wait until payments runs it."""
    if ms is None:
        shop.souk("config", "unset", "payments.latency_ms")
    else:
        shop.souk("config", "set", "payments.latency_ms", str(ms))
    want = 0 if ms is None else ms
    deadline = time.monotonic() + 30
    for _ in range(300):
        running = json.loads(shop.souk("config", "get", "payments.latency_ms", "--json")
                             .stdout)["running"]
        if running and all(value == want for value in running.values()):
            return
        assert time.monotonic() < deadline, f"payments never ran latency {want}: {running}"
        time.sleep(0.2)
    raise AssertionError("payments never applied the latency")


def test_a_shopper_searches_fills_the_cart_and_watches_the_order_confirm_live(
        shop: Checkout, browser: Browser) -> None:
    # the card processor answers a little slowly (still well within orders' 2 s authorization
    # deadline), so the order page usually opens before the saga ends and follows it live
    _payments_latency(shop, 800)
    try:
        with visitor(browser, shop) as context:
            page = context.new_page()
            new_shopper(page)
            _search(page, "tea")
            first = _add(page, "Assam Breakfast Tea 200 g", 2)
            _search(page, "espresso")
            second = _add(page, "Espresso Blend Beans 500 g")
            assert first != second
            cart = page.get_by_role("table")
            expect(cart.get_by_role("row", name=re.compile("Assam Breakfast Tea"))).to_be_visible()
            expect(cart.get_by_role("row", name=re.compile("Espresso Blend Beans"))).to_be_visible()
            # 2 x 8.90 + 16.90
            expect(cart.get_by_role("row", name=re.compile("Total"))).to_contain_text("€34.70")

            order_id = _check_out(page, "tok_visa")
            served_live = page.locator("[data-live]").count() == 1  # not final when served
            page.evaluate("window.soukNotReloaded = true")
            _live_steps_done(page, "Items reserved", "Payment authorized", "Payment captured",
                             "Order confirmed")
            expect(page.locator("#headline")).to_have_text("Confirmed")
            if served_live:  # the page followed the saga itself: the same document, updated
                assert page.evaluate("window.soukNotReloaded === true")
                expect(page.get_by_role("link", name="Refresh")).to_have_count(0)
            keep_screenshot(page, "storefront-order-confirmed-live")

            page.get_by_role("link", name="Orders", exact=True).click()
            expect(page.get_by_role("link", name=f"Order {order_id[-8:]}")).to_be_visible()
            expect(page.get_by_role("row", name=re.compile(order_id[-8:]))).to_contain_text(
                "Confirmed")
            # the confirmation mail is written by notifications after the fact: look a few times
            page.get_by_role("link", name="Mailbox").click()
            subject = page.get_by_role("heading", name=f"Your order {order_id} is confirmed")
            for _ in range(30):
                if subject.count():
                    break
                page.wait_for_timeout(500)
                page.reload()
            expect(subject).to_be_visible()
            keep_screenshot(page, "storefront-mailbox")
    finally:
        _payments_latency(shop, None)


def test_a_declined_card_cancels_the_order_clearly_and_gives_the_stock_back(
        shop: Checkout, browser: Browser) -> None:
    with visitor(browser, shop) as context:
        page = context.new_page()
        new_shopper(page)
        _search(page, "matcha")
        sku = "COF-0008"
        before = _stock(shop, sku)
        assert _add(page, "Ceremonial Matcha 30 g", 3) == sku
        _check_out(page, "tok_decline")
        expect(page.locator("#headline")).to_have_text("Cancelled", timeout=30_000)
        expect(page.get_by_text("Your card was declined")).to_be_visible()
        live = page.locator("[aria-live=polite]")
        expect(live.get_by_role("listitem").filter(has_text="Card declined")).to_have_class(
            "failed")
        _live_steps_done(page, "Items reserved", "Items released", "Order cancelled")
        # the saga ends CANCELLED only once the stock was released
        assert _stock(shop, sku) == before
        keep_screenshot(page, "storefront-card-declined")


def test_without_javascript_a_checkout_lands_on_its_outcome(shop: Checkout,
                                                           browser: Browser) -> None:
    with visitor(browser, shop, javascript=False) as context:
        page = context.new_page()
        new_shopper(page)
        _search(page, "skillet")
        _add(page, "Cast Iron Skillet 26 cm")
        _check_out(page, "tok_visa", javascript=False)
        headline = page.locator("#headline")
        # the checkout waited for the outcome, so this is usually final already; if not, the
        # page's own Refresh link is what a shopper without JavaScript would use
        for _ in range(30):
            if headline.inner_text() == "Confirmed":
                break
            page.wait_for_timeout(500)
            page.get_by_role("link", name="Refresh").click()
        expect(headline).to_have_text("Confirmed")
        _live_steps_done(page, "Items reserved", "Payment captured", "Order confirmed")
        keep_screenshot(page, "storefront-no-javascript-confirmed")


def test_an_empty_cart_and_an_unknown_product_read_like_a_shop(shop: Checkout,
                                                              browser: Browser) -> None:
    with visitor(browser, shop) as context:
        page = context.new_page()
        response = page.goto("/products/no-such-product")
        assert response is not None and response.status == 404
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "We could not find that product")
        # a visitor who is not signed in is sent to sign in (or to create an account), and
        # the add they pressed is made once they are in
        page.goto("/search?q=notebook")
        page.get_by_role("link", name="Dot Grid Notebook A5").click()
        page.get_by_role("button", name="Add to cart").click()
        expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
        expect(page.get_by_text("goes into your cart")).to_be_visible()
        page.get_by_role("link", name="Create an account").click()
        page.get_by_label("E-mail").fill(f"anonymous-{time.time_ns()}@souk.local")
        page.get_by_label("Password").fill("correct horse battery staple")
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url(re.compile(r"/cart\?added="))
        expect(page.get_by_role("status")).to_contain_text(
            "Added to your cart: Dot Grid Notebook A5 (you have 1)")

        # change the quantity, then remove the line: forms, each back to the cart
        row = page.get_by_role("row", name=re.compile("Dot Grid Notebook A5"))
        price = row.get_by_role("cell").first.inner_text()  # €x.yz
        row.get_by_label("Quantity of Dot Grid Notebook A5").fill("3")
        row.get_by_role("button", name=re.compile("Update")).click()
        cents = int(price.strip("€").replace(".", "").replace(",", ""))
        expect(page.get_by_role("row", name=re.compile("Total"))).to_contain_text(
            f"€{3 * cents // 100}.{3 * cents % 100:02d}")
        expect(page.get_by_label("Quantity of Dot Grid Notebook A5")).to_have_value("3")
        page.get_by_role("button", name=re.compile("Remove")).click()
        expect(page.get_by_text("Your cart is empty")).to_be_visible()

        page.goto("/checkout")
        expect(page.get_by_role("status")).to_contain_text("Your cart is empty")
        keep_screenshot(page, "storefront-empty-cart")


def test_a_payment_timeout_is_followed_live_to_its_cancellation(shop: Checkout,
                                                               browser: Browser) -> None:
    """orders gives the authorization 2 s, the processor answers tok_timeout after 4 s: the
    order page is open well before the saga gives up, and follows it to the end."""
    with visitor(browser, shop) as context:
        page = context.new_page()
        new_shopper(page)
        _search(page, "rooibos")
        _add(page, "Rooibos Vanilla Herbal Tea 150 g")
        _check_out(page, "tok_timeout")
        # served at once, seconds before the saga can end: the page follows it by itself
        expect(page.locator("[data-live]")).to_have_count(1)
        expect(page.get_by_role("link", name="Refresh")).to_be_visible()
        page.evaluate("window.soukNotReloaded = true")
        expect(page.locator("#headline")).to_have_text("Cancelled", timeout=30_000)
        expect(page.get_by_text("The payment timed out")).to_be_visible()
        _live_steps_done(page, "Items reserved", "Payment voided", "Items released")
        assert page.evaluate("window.soukNotReloaded === true")
        expect(page.get_by_role("link", name="Refresh")).to_have_count(0)
        keep_screenshot(page, "storefront-payment-timed-out")


def test_the_storefront_pages_have_no_serious_accessibility_violation(
        shop: Checkout, browser: Browser) -> None:
    with visitor(browser, shop) as context:
        page = context.new_page()
        found: dict[str, list[str]] = {}

        def check(name: str) -> None:
            found[name] = serious_violations(page)

        for path in ("/search?q=tea", "/categories/kitchen", "/products/no-such-product"):
            page.goto(path)
            check(path)
        page.goto("/search?q=knife")
        page.get_by_role("link", name="Chef's Knife 20 cm").click()
        check("product, anonymous")
        new_shopper(page)
        page.goto("/search?q=knife")
        page.get_by_role("link", name="Chef's Knife 20 cm").click()
        check("product, signed in")
        page.get_by_role("button", name="Add to cart").click()
        check("cart")
        page.get_by_role("link", name="Check out").click()
        check("checkout")
        page.get_by_role("button", name="Place order").click()
        page.wait_for_url(ORDER_URL)
        expect(page.locator("#headline")).to_have_text("Confirmed", timeout=30_000)
        check("order")
        page.goto("/orders")
        check("orders")
        page.goto("/mailbox")
        check("mailbox")
        assert found == {name: [] for name in found}


def test_pages_stay_well_under_150_kb(shop: Checkout) -> None:
    for path in ("/", "/search?q=e", "/categories/kitchen"):
        r = requests.get(shop.gateway + path, timeout=10)
        assert r.status_code == 200, path
        assets = set(re.findall(r'(?:src|href)="(/(?:static|art)/[^"]+)"', r.text))
        weight = len(r.content) + sum(
            len(requests.get(shop.gateway + asset, timeout=10).content) for asset in assets)
        assert weight < MAX_PAGE_BYTES / 2, (path, weight)
    art = requests.get(shop.gateway + "/art/kitchen.svg", timeout=10)
    assert art.headers["content-type"] == "image/svg+xml"
    assert "immutable" in art.headers["cache-control"]


def test_a_shared_link_with_tracking_parameters_opens_its_page(shop: Checkout) -> None:
    """A link to the shop shared in a newsletter or a social network comes back with the
    sharer's parameters; each page answered 400 "That address is not quite right"."""
    home = requests.get(shop.gateway + "/", timeout=10)
    product = re.findall(r'href="(/products/[^"]+)"', home.text)[0]
    for path in ("/", "/search?q=tea", "/categories/kitchen", product, "/signin"):
        shared = f"{path}{'&' if '?' in path else '?'}utm_source=newsletter&fbclid=IwAR0x"
        r = requests.get(shop.gateway + shared, timeout=10, headers={"Accept": "text/html"})
        assert r.status_code == 200, (shared, r.status_code)
    refused = requests.get(shop.gateway + "/?cursor=not-a-cursor&utm_source=x", timeout=10)
    assert refused.status_code == 400  # what the page declares is still checked


def test_a_visit_logs_no_error_in_the_browser_console(shop: Checkout, browser: Browser) -> None:
    """No failed request (the icon a browser asks for included) and no script or CSP error."""
    with visitor(browser, shop) as context:
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto("/")
        product = page.locator("main a[href^='/products/']").first.get_attribute("href")
        assert product is not None
        for path in (product, "/signin", "/signup", "/"):
            page.goto(path)
        page.wait_for_load_state("networkidle")
        icon = page.locator("link[rel=icon]").get_attribute("href")
        assert icon is not None and icon.startswith("/static/icon.svg?v=")
        assert errors == []
    answer = requests.get(shop.gateway + icon, timeout=10)
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/svg+xml"


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, html[:300]
    return found[1]


def _shopper_with_a_cart(shop: Checkout, sku: str) -> requests.Session:
    """A signed-in session (plain HTTP, the same forms) whose cart holds one ``sku``."""
    s = requests.Session()
    s.headers["Origin"] = shop.gateway
    r = s.post(f"{shop.gateway}/signup", allow_redirects=False, timeout=10, data={
        "csrf": _csrf(s.get(f"{shop.gateway}/signup", timeout=10).text), "next": "/",
        "email": f"http-{time.time_ns()}@souk.local", "password": "correct horse battery"})
    assert r.status_code == 303, r.text[:300]
    r = s.post(f"{shop.gateway}/cart/items", allow_redirects=False, timeout=10, data={
        "csrf": _csrf(s.get(f"{shop.gateway}/cart", timeout=10).text), "sku": sku,
        "quantity": "1", "next": "/"})
    assert r.status_code == 303 and r.headers["Location"].startswith("/cart"), r.text[:300]
    return s


def _held(s: requests.Session, shop: Checkout, sku: str) -> int:
    page = s.get(f"{shop.gateway}/cart", timeout=10)
    found = re.search(rf'id="qty-{sku}" name="quantity"[^>]* value="(\d+)"', page.text)
    assert page.status_code == 200 and found is not None, page.text[:300]
    return int(found[1])


def test_adds_from_two_tabs_at_once_all_count_and_one_form_sent_twice_adds_once(
        shop: Checkout) -> None:
    """Each "Add to cart" adds to the line in the cart's own transaction: four sent at once from
    two tabs of one shopper all count (reading the line and setting the sum lost some); the key
    a form is shown with makes it add once however often it is sent."""
    from concurrent.futures import ThreadPoolExecutor

    shopper = _shopper_with_a_cart(shop, "PAN-0002")
    csrf = _csrf(shopper.get(f"{shop.gateway}/cart", timeout=10).text)

    def add(quantity: int, key: str = "") -> requests.Response:
        return shopper.post(f"{shop.gateway}/cart/items", allow_redirects=False, timeout=10,
                            data={"csrf": csrf, "sku": "PAN-0002", "quantity": str(quantity),
                                  "next": "/", "key": key or f"add-{time.time_ns()}"})

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(add, [2, 2, 2, 2]))
    assert [a.status_code for a in answers] == [303] * 4, [a.text[:200] for a in answers]
    assert _held(shopper, shop, "PAN-0002") == 9
    # one form sent three times (a double click, a resend): its key adds once
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: add(1, "add-the-same-form"), range(3)))
    assert [a.status_code for a in answers] == [303] * 3
    assert _held(shopper, shop, "PAN-0002") == 10
    assert add(1, "add-the-same-form").status_code == 303 and _held(shopper, shop, "PAN-0002") == 10
    over = add(90)  # 10 + 90 passes the 99 a line holds: refused in the shop's words, unchanged
    assert over.status_code == 400 and "A cart holds at most 99 of one product" in over.text
    assert _held(shopper, shop, "PAN-0002") == 10


def test_a_sign_in_form_of_a_tab_signed_in_meanwhile_goes_on(shop: Checkout) -> None:
    """Two sign-in tabs: the first signs in, which replaces the anonymous session whose token
    the second form carries; that form's submit went to "expired or from another site"."""
    s = requests.Session()
    s.headers["Origin"] = shop.gateway
    r = s.post(f"{shop.gateway}/signup", allow_redirects=False, timeout=10, data={
        "csrf": _csrf(s.get(f"{shop.gateway}/signup", timeout=10).text), "next": "/",
        "email": (email := f"tabs-{time.time_ns()}@souk.local"),
        "password": "correct horse battery"})
    assert r.status_code == 303
    s.post(f"{shop.gateway}/signout", allow_redirects=False, timeout=10,
           data={"csrf": _csrf(s.get(f"{shop.gateway}/cart", timeout=10).text)})
    first = _csrf(s.get(f"{shop.gateway}/signin?next=/orders", timeout=10).text)
    second = _csrf(s.get(f"{shop.gateway}/signin?next=/mailbox", timeout=10).text)
    form = {"email": email, "password": "correct horse battery"}
    r = s.post(f"{shop.gateway}/signin", allow_redirects=False, timeout=10,
               data={**form, "csrf": first, "next": "/orders"})
    assert (r.status_code, r.headers["Location"]) == (303, "/orders")
    r = s.post(f"{shop.gateway}/signin", allow_redirects=False, timeout=10,
               data={**form, "csrf": second, "next": "/mailbox"})
    assert (r.status_code, r.headers["Location"]) == (303, "/mailbox"), r.text[:300]
    # a page link altered by hand reads as a broken link, not as the service's own words
    broken = s.get(f"{shop.gateway}/orders?cursor=zzz", timeout=10)
    assert broken.status_code == 400 and "That page link is broken" in broken.text
    assert "base64" not in broken.text


def _form_fields(html: str, *names: str) -> dict[str, str]:
    found = {name: re.search(rf'name="{name}" value="([^"]*)"', html) for name in names}
    assert all(found.values()), html[:300]
    return {name: match[1] for name, match in found.items() if match is not None}


def test_add_to_cart_pressed_before_signing_in_adds_once_signed_in(shop: Checkout) -> None:
    """A visitor not signed in presses "Add to cart" (with a quantity) on a product page: the
    sign-in form carries that add, and signing in (or creating the account) makes it and lands
    on the cart; it went back to the product page with nothing added. The key the form was
    shown with makes a form sent twice at once add once; an add not valid is dropped."""
    from concurrent.futures import ThreadPoolExecutor

    s = requests.Session()
    s.headers["Origin"] = shop.gateway
    found = requests.get(f"{shop.gateway}/api/v1/catalog/products/by-sku/PAN-0003", timeout=10)
    assert found.status_code == 200, found.text[:300]
    product = f"/products/{found.json()['id']}"
    shown = s.get(shop.gateway + product, timeout=10).text
    assert 'action="/signin" method="get"' in shown and 'name="add" value="PAN-0003"' in shown
    # what the product page's GET form sends
    asked = {"next": product, "add": "PAN-0003", "quantity": "3"}
    form = s.get(f"{shop.gateway}/signin", params=asked, timeout=10)
    assert form.status_code == 200 and "Then 3 of PAN-0003 goes into your cart" in form.text
    assert "/signup?next=" in form.text and "add=PAN-0003&amp;quantity=3" in form.text
    fields = _form_fields(s.get(f"{shop.gateway}/signup", params=asked, timeout=10).text,
                          "csrf", "next", "add", "quantity", "key")
    assert (fields["next"], fields["add"], fields["quantity"]) == (product, "PAN-0003", "3")
    account = {"email": f"later-{time.time_ns()}@souk.local", "password": "correct horse battery"}
    r = s.post(f"{shop.gateway}/signup", allow_redirects=False, timeout=10,
               data={**fields, **account})
    assert (r.status_code, r.headers["Location"]) == (303, "/cart?added=PAN-0003"), r.text[:300]
    assert _held(s, shop, "PAN-0003") == 3

    def sign_out() -> None:
        s.post(f"{shop.gateway}/signout", allow_redirects=False, timeout=10,
               data={"csrf": _csrf(s.get(f"{shop.gateway}/cart", timeout=10).text)})

    # signed out, the same through the sign-in form, its submit sent twice at once: 3 + 2
    sign_out()
    fields = _form_fields(s.get(f"{shop.gateway}/signin", params={**asked, "quantity": "2"},
                                timeout=10).text, "csrf", "next", "add", "quantity", "key")
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: s.post(
            f"{shop.gateway}/signin", allow_redirects=False, timeout=10,
            data={**fields, **account}), range(2)))
    assert "/cart?added=PAN-0003" in [a.headers.get("Location") for a in answers], \
        [a.text[:200] for a in answers]
    assert _held(s, shop, "PAN-0003") == 5
    # an add that is not a valid one (a quantity past 99, altered by hand) is dropped
    sign_out()
    shown = s.get(f"{shop.gateway}/signin", params={**asked, "quantity": "500"}, timeout=10).text
    assert 'name="add"' not in shown and "goes into your cart" not in shown
    r = s.post(f"{shop.gateway}/signin", allow_redirects=False, timeout=10,
               data={"csrf": _csrf(shown), **asked, "quantity": "500", **account})
    assert (r.status_code, r.headers["Location"]) == (303, product), r.text[:300]
    assert _held(s, shop, "PAN-0003") == 5


def test_with_the_catalog_down_the_shop_says_try_again_shortly(shop: Checkout) -> None:
    """Last in this module: it takes the catalog away (and brings it back)."""
    shopper = _shopper_with_a_cart(shop, "PAN-0001")
    pid = shop.pid_of("catalog-1")
    shop.souk("hold", "catalog-1")
    os.kill(pid, signal.SIGKILL)
    try:
        deadline = time.monotonic() + 30
        r = requests.get(shop.gateway + "/", timeout=10)
        for _ in range(60):  # the front end learns it is gone on its first refused call
            if r.status_code == 503 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
            r = requests.get(shop.gateway + "/", timeout=10)
        assert r.status_code == 503, r.text[:300]
        assert r.headers["content-type"].startswith("text/html")
        assert "please try again shortly" in r.text
        assert "Traceback" not in r.text and "problem" not in r.text
        found = requests.get(shop.gateway + "/search?q=tea", timeout=10)
        assert found.status_code == 503 and "try again shortly" in found.text
        # the cart still answers, from the prices it keeps, and says they may be old (once
        # they are past their freshness, 5 s)
        deadline = time.monotonic() + 30
        for _ in range(60):
            cart = shopper.get(shop.gateway + "/cart", timeout=10)
            assert cart.status_code == 200, cart.text[:300]
            if "Some prices may be out of date" in cart.text or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert "Some prices may be out of date" in cart.text
        assert "last known price" in cart.text
    finally:
        shop.souk("release", "catalog-1")
    deadline = time.monotonic() + 60
    for _ in range(120):
        if requests.get(shop.gateway + "/", timeout=10).status_code == 200:
            break
        assert time.monotonic() < deadline, "the shop did not come back with the catalog"
        time.sleep(0.5)
