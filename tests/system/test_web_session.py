"""The front end's sessions and forms in a real browser, and against cross-site requests: a
cross-site form post is refused, the session cookie is httpOnly and SameSite, a signed-out
session cannot be reused."""

from __future__ import annotations

import re

import pytest
import requests
from playwright.sync_api import Browser, expect

from .checkout_platform import Checkout
from .conftest import only_on
from .web_platform import keep_screenshot, new_shopper, sign_in, visitor, web_shop

pytestmark = [pytest.mark.system, pytest.mark.browser]

engine = only_on("sqlite")  # the front end's pages; see tests/system/conftest.py


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Checkout:
    return web_shop(tmp_path_factory, engine)  # one platform per engine, see SHARED


def test_a_new_shopper_signs_up_signs_out_and_signs_in_again(shop: Checkout,
                                                              browser: Browser) -> None:
    with visitor(browser, shop) as context:
        page = context.new_page()
        email, password = new_shopper(page)
        expect(page.get_by_role("button", name=re.compile("Sign out"))).to_be_visible()
        cookie = next(c for c in context.cookies() if c["name"] == "souk_session")
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Lax"
        # the tokens stay on the server: the page's script sees no cookie at all
        assert page.evaluate("document.cookie") == ""

        page.get_by_role("button", name=re.compile("Sign out")).click()
        expect(page.get_by_role("link", name="Sign in")).to_be_visible()
        sign_in(page, email, "not the password at all")
        expect(page.get_by_role("alert")).to_contain_text("do not match")
        sign_in(page, email, password)
        expect(page.get_by_role("button", name=re.compile("Sign out"))).to_be_visible()
        keep_screenshot(page, "session-signed-in-again")


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found is not None, page[:500]
    return found[1]


def test_a_signed_out_session_cannot_be_reused(shop: Checkout) -> None:
    users = shop.users()
    with requests.Session() as s:
        csrf = _csrf(s.get(f"{shop.gateway}/signin", timeout=10).text)
        r = s.post(f"{shop.gateway}/signin", allow_redirects=False, timeout=10, data={
            "csrf": csrf, "email": users["customer"]["email"],
            "password": users["customer"]["password"], "next": "/"})
        assert r.status_code == 303
        signed_in = s.cookies["souk_session"]
        page = s.get(f"{shop.gateway}/", timeout=10).text
        assert users["customer"]["email"] in page
        r = s.post(f"{shop.gateway}/signout", data={"csrf": _csrf(page)},
                   allow_redirects=False, timeout=10)
        assert r.status_code == 303
    # the old cookie, replayed after sign-out, opens nothing: the page is an anonymous one and
    # the answer tells the browser to drop the cookie
    r = requests.get(f"{shop.gateway}/", headers={"Cookie": f"souk_session={signed_in}"},
                     timeout=10)
    assert r.status_code == 200
    assert users["customer"]["email"] not in r.text
    assert "Max-Age=0" in r.headers.get("Set-Cookie", "")


def test_a_next_with_a_line_break_is_a_redirect_and_takes_the_shop_down_for_no_one(
        shop: Checkout) -> None:
    """A CR or LF in `next` ended the redirect's head: the server dropped the connection, the
    edge answered 502 and counted a failure of the front end per try, and nine such requests by
    one signed-in customer opened its breaker: the shop answered 503 to everyone."""
    users = shop.users()
    with requests.Session() as s:
        s.post(f"{shop.gateway}/signin", allow_redirects=False, timeout=10, data={
            "csrf": _csrf(s.get(f"{shop.gateway}/signin", timeout=10).text),
            "email": users["customer"]["email"], "password": users["customer"]["password"],
            "next": "/"})
        for _ in range(12):  # more than the breaker's minimum of failures
            r = s.get(f"{shop.gateway}/signin?next=/x%0d%0aSet-Cookie:%20a=b",
                      allow_redirects=False, timeout=10)
            assert r.status_code == 303, r.text[:300]
            assert r.headers["Location"] == "/x%0D%0ASet-Cookie:%20a=b"
            assert "a=b" not in r.headers.get("Set-Cookie", "")
    assert requests.get(f"{shop.gateway}/", timeout=10).status_code == 200


def test_a_cross_site_form_post_is_refused_and_changes_nothing(shop: Checkout) -> None:
    users = shop.users()
    with requests.Session() as s:
        form = {"csrf": _csrf(s.get(f"{shop.gateway}/signin", timeout=10).text),
                "email": users["customer"]["email"],
                "password": users["customer"]["password"], "next": "/"}
        # the right token, but the browser says the form comes from another site
        for headers in ({"Origin": "http://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
            r = s.post(f"{shop.gateway}/signin", data=form, headers=headers,
                       allow_redirects=False, timeout=10)
            assert r.status_code == 403, headers
            assert "could not be accepted" in r.text
        # a same-site post without the session's token (a forged form) is refused too
        r = s.post(f"{shop.gateway}/signin", data={**form, "csrf": "forged"},
                   allow_redirects=False, timeout=10)
        assert r.status_code == 403
        assert users["customer"]["email"] not in s.get(f"{shop.gateway}/", timeout=10).text
        # the real form, from this site, works
        r = s.post(f"{shop.gateway}/signin", data=form, allow_redirects=False, timeout=10,
                   headers={"Origin": shop.gateway})
        assert r.status_code == 303


def test_every_page_carries_a_strict_content_security_policy(shop: Checkout,
                                                            browser: Browser) -> None:
    with visitor(browser, shop) as context:
        page = context.new_page()
        response = page.goto("/signin")
        assert response is not None
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp


def test_every_answer_of_the_front_end_matches_its_openapi_document(shop: Checkout) -> None:
    from chassis.testing.conformance import check_conformance

    failures = check_conformance(shop.url_of("web"), max_examples=10)
    assert failures == []


def test_failed_sign_ins_from_one_address_lock_no_other_shopper_out(shop: Checkout) -> None:
    """Every shopper signs in through the front end, so identity saw one address for all of
    them: twenty failed sign-ins by one visitor locked the shop's sign-in for everyone. The
    front end now tells identity the visitor's address, which the edge proved to it."""
    import asyncio
    import concurrent.futures

    import aiohttp

    users = shop.users()

    async def attempt(source: str, email: str, password: str) -> int:
        connector = aiohttp.TCPConnector(local_addr=(source, 0))
        async with aiohttp.ClientSession(connector=connector,
                                         cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
            async with s.get(f"{shop.gateway}/signin") as r:
                csrf = _csrf(await r.text())
            async with s.post(f"{shop.gateway}/signin", allow_redirects=False, data={
                    "csrf": csrf, "email": email, "password": password, "next": "/"}) as r:
                return r.status

    async def scenario() -> None:
        statuses = [await attempt("127.0.0.2", f"nobody{n}@example.com", "wrong password 1")
                    for n in range(22)]  # past identity's 20 failures per address
        assert statuses[0] == 400 and statuses[-1] == 429, statuses  # that visitor: locked
        assert await attempt("127.0.0.3", users["customer"]["email"],
                             users["customer"]["password"]) == 303  # another: signed in

    # in a thread of its own: Playwright's sync API keeps an event loop running in this one
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, scenario()).result(timeout=300)
