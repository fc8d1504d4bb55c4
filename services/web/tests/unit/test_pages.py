"""The page helpers that guard the front end: where `next` may lead, and which posts count as
coming from this site."""

from __future__ import annotations

import pytest

from chassis.web import Request
from web.entrypoints.pages import _same_origin, money, safe_next

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("given", "expected"), [
    ("/cart", "/cart"), ("/orders/o-1?x=1", "/orders/o-1?x=1"), (None, "/"), ("", "/"),
    ("//evil.example/x", "/"), ("https://evil.example", "/"), ("/\\evil.example", "/"),
    ("cart", "/"),
    # fit for a Location header: a CR or LF ended the answer's head, and the server dropped the
    # connection (each such page a failure of the front end at the edge, whose breaker opened)
    ("/x\r\nSet-Cookie: a=b", "/x%0D%0ASet-Cookie:%20a=b"), ("/x\x7f\x00", "/x%7F%00"),
    ("/search?q=caf\u00e9 \u20ac", "/search?q=caf%C3%A9%20%E2%82%AC"),
    ("/orders/o%2F1", "/orders/o%2F1")])  # what is encoded already stays so
def test_next_only_leads_to_a_path_of_this_site(given: str | None, expected: str) -> None:
    assert safe_next(given) == expected


def request(**headers: str) -> Request:
    scope = {"type": "http", "method": "POST", "path": "/signin", "query_string": b"",
             "headers": [(k.replace("_", "-").lower().encode(), v.encode())
                         for k, v in headers.items()], "client": ("127.0.0.1", 1)}

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    return Request(scope, receive)


def test_a_post_from_this_site_passes_and_one_from_another_does_not() -> None:
    host = "127.0.0.1:8080"
    assert _same_origin(request(host=host))  # an older browser sends neither header
    assert _same_origin(request(host=host, origin=f"http://{host}", sec_fetch_site="same-origin"))
    assert _same_origin(request(host="web:1", x_forwarded_host=host, origin=f"http://{host}"))
    assert not _same_origin(request(host=host, origin="http://evil.example"))
    assert not _same_origin(request(host=host, sec_fetch_site="cross-site"))
    assert not _same_origin(request(host=host, sec_fetch_site="same-site"))
    assert not _same_origin(request(host=host, origin="null"))


def test_money_is_shown_in_major_units_with_the_currency_sign() -> None:
    assert money(123456) == "€1,234.56"
    assert money(5, "USD") == "$0.05"
    assert money(100, "CHF") == "CHF 1.00"


def test_a_page_a_service_behind_the_shop_keeps_from_us_says_so_to_the_edge() -> None:
    """Every 503 page of the front end stands for another service: its Proxy-Status keeps the
    gateway's breaker for the whole front end closed (one service away opened it before, and
    every page, the console too, became the gateway's JSON 503)."""
    from types import SimpleNamespace

    from web.entrypoints.pages import Visit, _response

    v = Visit(request(host="127.0.0.1:8080"), SimpleNamespace(cookie_secure=False), None)  # type: ignore[arg-type]
    busy = _response(b"<p>busy</p>", 503, v)
    assert dict(busy.headers)[b"proxy-status"] == b"web; error=destination_unavailable"
    for status in (200, 400, 404):
        assert b"proxy-status" not in dict(_response(b"", status, v).headers)
    # this instance overloaded (the chassis's 503, as a page for a browser) is its own: the edge
    # must see it shedding (Retry-After), not a service further on
    from chassis.problems import Problem
    from web.entrypoints.pages import error_page

    overloaded = dict(error_page(Problem(503, "overloaded", "busy", headers={"Retry-After": "1"}),
                                 request(host="127.0.0.1:8080", accept="text/html")).headers)
    assert overloaded[b"retry-after"] == b"1" and b"proxy-status" not in overloaded


def test_a_page_made_before_the_session_is_read_does_not_say_signed_out() -> None:
    """A 404 for a path with no route, to a signed-in shopper, offered "Sign in / Create
    account": the chassis makes that page before any session is read."""
    from chassis.problems import Problem
    from web.entrypoints.pages import error_page

    page = error_page(Problem(404, "not-found", "no route"),
                      request(host="127.0.0.1:8080", accept="text/html"))
    html = page.body.decode() if isinstance(page.body, bytes) else str(page.body)
    assert 'href="/cart"' in html and 'href="/orders"' in html
    assert 'href="/signin"' not in html and "Create account" not in html


def test_the_invariants_page_says_when_the_platform_was_not_at_rest() -> None:
    """Read under load, checkouts in flight show as violations: the page says so, with what
    was in flight; read at rest it does not."""
    from chassis.invariants import Report
    from web.entrypoints.pages import pages

    counts = {"not_terminal": 3, "outbox_pending": 7}
    busy = Report([], [], counts, settled=False, backlog=4)
    html = pages.get_template("console/invariants.html").render(report=busy, violations=[],
                                                               user=None, csrf="", path="/")
    assert "not at rest when read (3 orders not terminal, 7 outbox rows pending, 4 messages" in html
    calm = Report([], [], counts)
    html = pages.get_template("console/invariants.html").render(report=calm, violations=[],
                                                               user=None, csrf="", path="/")
    assert "not at rest" not in html


@pytest.mark.parametrize("template", ["signin.html", "signup.html"])
def test_the_account_forms_carry_an_add_pressed_before_signing_in_and_none_otherwise(
        template: str) -> None:
    from web.entrypoints.auth import _carried
    from web.entrypoints.pages import pages

    def render(**carried: object) -> str:
        return pages.get_template(template).render(user=None, csrf="c", path="/signin",
                                                   next="/products/p-1", email="", error=None,
                                                   **carried)

    plain = render(**_carried(None, "k-1"))
    assert 'name="add"' not in plain and 'name="key"' not in plain
    assert "goes into your cart" not in plain and "next=/products/p-1" in plain
    carried = render(**_carried(("PAN-0003", 3), "k-1"))
    assert 'name="add" value="PAN-0003"' in carried and 'name="quantity" value="3"' in carried
    assert 'name="key" value="k-1"' in carried and "Then 3 of PAN-0003 goes into your cart" in carried
    assert "next=/products/p-1&amp;add=PAN-0003&amp;quantity=3" in carried  # to the other form


@pytest.mark.parametrize(("sku", "quantity", "expected"), [
    ("PAN-0003", "3", ("PAN-0003", 3)), ("PAN-0003", "", ("PAN-0003", 1)),
    ("PAN-0003", "99", ("PAN-0003", 99)), ("PAN-0003", "100", None), ("PAN-0003", "0", None),
    ("PAN-0003", "x", None), ("", "1", None), ("../etc", "1", None), ("A" * 33, "1", None)])
def test_only_a_valid_add_is_carried(sku: str, quantity: str,
                                     expected: tuple[str, int] | None) -> None:
    from web.entrypoints.cart import pending_add

    assert pending_add(sku, quantity) == expected
