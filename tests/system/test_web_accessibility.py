"""Accessibility of the front end's main pages, checked by axe-core (WCAG 2.x A and AA rules) in
a real chromium: no serious or critical violation on any of them; and the shop is usable with
the keyboard alone."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, expect

from .checkout_platform import Checkout
from .conftest import only_on
from .web_platform import (
    PHONE_WIDTHS,
    keep_screenshot,
    new_shopper,
    serious_violations,
    sideways_on_phones,
    visitor,
    web_shop,
)

pytestmark = [pytest.mark.system, pytest.mark.browser]

engine = only_on("sqlite")  # the front end's pages; see tests/system/conftest.py

ANONYMOUS_PAGES = ["/", "/signin", "/signup"]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Checkout:
    return web_shop(tmp_path_factory, engine)  # one platform per engine, see SHARED


def test_the_anonymous_pages_have_no_serious_accessibility_violation(
        shop: Checkout, browser: Browser) -> None:
    with visitor(browser, shop) as context:
        page = context.new_page()
        found = {}
        for path in ANONYMOUS_PAGES:
            page.goto(path)
            found[path] = serious_violations(page)
        assert found == {path: [] for path in ANONYMOUS_PAGES}


def test_a_shopper_signs_up_and_checks_out_with_the_keyboard_alone(shop: Checkout, browser: Browser) -> None:
    with visitor(browser, shop) as context:
        page = context.new_page()
        page.goto("/")
        page.keyboard.press("Tab")
        expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
        page.goto("/signup")
        page.get_by_label("E-mail").focus()
        page.keyboard.type("keyboard-only@souk.local")
        page.keyboard.press("Tab")
        expect(page.get_by_label("Password")).to_be_focused()
        page.keyboard.type("correct horse battery staple")
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/$"))
        expect(page.get_by_role("button", name=re.compile("Sign out"))).to_be_visible()

        # … and buys with it: a product into the cart, then the checkout, keys only
        product = page.locator("main a[href^='/products/']").first.get_attribute("href")
        assert product is not None
        page.goto(product)
        page.get_by_label("Quantity").focus()
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name="Add to cart")).to_be_focused()
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/cart"))
        page.goto("/checkout")
        page.get_by_role("radio", name=re.compile("tok_visa")).focus()
        page.keyboard.press("Space")
        expect(page.get_by_role("radio", name=re.compile("tok_visa"))).to_be_checked()
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name="Place order")).to_be_focused()
        page.keyboard.press("Enter")
        page.wait_for_url(re.compile(r"/orders/"))
        expect(page.get_by_text("Confirmed").first).to_be_visible(timeout=30_000)
        keep_screenshot(page, "keyboard-checkout")


def test_the_signed_in_pages_have_no_serious_accessibility_violation(
        shop: Checkout, browser: Browser) -> None:
    with visitor(browser, shop) as context:
        page = context.new_page()
        new_shopper(page)
        assert serious_violations(page) == []


def test_the_checker_does_flag_a_page_that_breaks_the_rules(browser: Browser) -> None:
    """The check above is not vacuous: an unlabelled field and low-contrast text are caught."""
    page = browser.new_page()
    try:
        page.set_content('<!doctype html><html lang="en"><head><title>x</title></head><body>'
                         '<main><h1>Bad</h1><input type="text">'
                         '<p style="color:#bbb;background:#fff">faint</p></main></body></html>')
        found = " ".join(serious_violations(page))
        assert "label" in found and "color-contrast" in found
    finally:
        page.close()


def test_on_a_phone_no_shop_page_scrolls_sideways(shop: Checkout, browser: Browser) -> None:
    """The whole header and every column of the shop's tables fit a phone's screen."""
    with visitor(browser, shop) as context:
        page = context.new_page()
        found = sideways_on_phones(page, ANONYMOUS_PAGES)
        new_shopper(page)
        product = page.locator("main a[href^='/products/']").first.get_attribute("href")
        assert product is not None
        page.goto(product)
        page.get_by_role("button", name="Add to cart").click()
        page.wait_for_url(re.compile(r"/cart"))
        page.goto("/checkout")
        page.get_by_role("radio", name=re.compile("tok_visa")).check()
        page.get_by_role("button", name="Place order").click()
        page.wait_for_url(re.compile(r"/orders/"))
        expect(page.get_by_text("Confirmed").first).to_be_visible(timeout=30_000)
        order = page.url
        page.goto(product)
        page.get_by_role("button", name="Add to cart").click()  # a cart with a line again
        page.wait_for_url(re.compile(r"/cart"))
        found |= sideways_on_phones(page, (product, "/cart", "/checkout", "/orders", order,
                                           "/mailbox"))
        assert found == dict.fromkeys(found, 0)
        page.set_viewport_size({"width": min(PHONE_WIDTHS), "height": 800})
        page.goto("/cart")  # the widest of the shop's tables fits whole: nothing to scroll to
        cart = page.get_by_role("region", name="The products in your cart")
        assert cart.evaluate("e => e.scrollWidth <= e.clientWidth")
        assert serious_violations(page) == []
        keep_screenshot(page, "cart-on-a-phone")
