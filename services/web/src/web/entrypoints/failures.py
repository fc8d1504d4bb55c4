"""The storefront's error pages: what a shopper sees when a page cannot be had (404), a request
makes no sense (400), or a service behind the shop is away (503: "try again shortly")."""

from __future__ import annotations

from urllib.parse import quote

from chassis.web import Answer, Request, Response
from web.domain.errors import NotFound, Refused, ShopError
from web.entrypoints.pages import HTML, Visit, page, redirect, visit
from web.service.context import WebContext

__all__ = ["HTML", "bad_request", "failed", "not_found", "shopper", "sign_in_first",
           "unavailable"]


def not_found(v: Visit, what: str = "page") -> Response:
    return page(v, "error.html", 404, heading=f"We could not find that {what}",
                message=f"The {what} you asked for is not in the shop (any more).")


def unavailable(v: Visit) -> Response:
    return page(v, "error.html", 503, heading="The shop is busy",
                message="Part of the shop is unavailable for a moment; please try again shortly.")


def bad_request(v: Visit, message: str, back: str = "/") -> Response:
    return page(v, "error.html", 400, heading="That did not work", message=message, back=back)


def failed(v: Visit, exc: ShopError, what: str = "page") -> Response:
    """The page for ``exc``: 404, 400 (a refusal, in the service's words) or 503."""
    if isinstance(exc, NotFound):
        return not_found(v, what)
    if isinstance(exc, Refused) and exc.status < 500:
        return bad_request(v, exc.detail or "That request could not be handled.")
    return unavailable(v)


def sign_in_first(v: Visit, back: str) -> Response:
    """To the sign-in form, and back to ``back`` afterwards."""
    return redirect(v, "/signin?next=" + quote(back, safe="/"))


async def shopper(request: Request, web: WebContext, back: str) -> Visit:
    """The signed-in visitor; anyone else is answered with the way to the sign-in form (and
    back to ``back`` afterwards)."""
    v = await visit(request, web)
    if not v.signed_in:
        raise Answer(sign_in_first(v, back))
    return v
