"""Sign up, sign in, sign out: forms posted to the front end, which talks to identity and keeps
the tokens in the server-side session (they never reach the browser)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from chassis import clock
from chassis.http import ServiceCallError
from chassis.web import Answer, ClientAddress, Query, Request, Response, Router
from web.entrypoints.cart import add_line, pending_add
from web.entrypoints.pages import (
    FORM,
    HTML,
    Visit,
    form_fields,
    page,
    posted,
    redirect,
    safe_next,
    visit,
)
from web.service.context import WebContext
from web.service.ports import IdentityRefused

__all__ = ["router"]

router = Router(tags=["account"], ignore_other_query=True)

Next = Annotated[str, Query("next", max_length=300)]
Add = Annotated[str, Query("add", max_length=64, description=(
    "the SKU of a product page's \"Add to cart\" pressed before signing in: it is added once "
    "the visitor is in"))]
Quantity = Annotated[str, Query("quantity", max_length=8, description="how many of `add`")]
_SEE_OTHER = (None, "done: on to `next` (a page of this site), or to the cart with the add the "
                    "form carried made")
_PAGES = {200: HTML, 303: _SEE_OTHER, 400: HTML, 403: HTML,
          404: (HTML, "the product of an add carried by the form is not sold (signed in)"),
          429: (HTML, "too many failed sign-ins from this address or for this account: the "
                      "form again, saying when to try again"), 503: HTML}


def _unavailable(v: Visit, template: str, **context: Any) -> Response:
    return page(v, template, 503, error="Accounts are unavailable for a moment; please try "
                                        "again shortly.", **context)


async def _empty_form(request: Request, web: WebContext, template: str, next: str, add: str,
                      quantity: str) -> Response:
    """An account form to fill in (a session opened for its CSRF token); on to ``next`` for
    someone signed in already. With a valid ``add``, the form carries it on (and a key made
    now, so that the form sent twice adds once)."""
    v = await visit(request, web)
    if v.signed_in:
        return redirect(v, safe_next(next))
    await v.ensure_session()
    return page(v, template, next=safe_next(next), email="", error=None,
                **_carried(pending_add(add, quantity), uuid.uuid4().hex))


def _carried(add: tuple[str, int] | None, key: str) -> dict[str, Any]:
    """What an account form carries of an add asked for before signing in: each of the three
    the templates read, None when there is no add."""
    if add is None:
        return {"add": None, "quantity": None, "key": None}
    return {"add": add[0], "quantity": add[1], "key": key}


@router.get("/signin", responses={200: HTML, 303: (None, "already signed in")})
async def sign_in_form(request: Request, web: WebContext, next: Next = "/", add: Add = "",
                       quantity: Quantity = "1") -> Response:
    """The sign-in form."""
    return await _empty_form(request, web, "signin.html", next, add, quantity)


@router.post("/signin", body=FORM, responses=_PAGES)
async def sign_in(request: Request, web: WebContext, address: ClientAddress) -> Response:
    """Sign in: a new session (the visitor's old one is dropped), then on to `next`."""
    return await _enter(request, web, address, "signin.html", _sign_in_refused)


@router.get("/signup", responses={200: HTML, 303: (None, "already signed in")})
async def sign_up_form(request: Request, web: WebContext, next: Next = "/", add: Add = "",
                       quantity: Quantity = "1") -> Response:
    """The form to create an account."""
    return await _empty_form(request, web, "signup.html", next, add, quantity)


@router.post("/signup", body=FORM, responses=_PAGES)
async def sign_up(request: Request, web: WebContext, address: ClientAddress) -> Response:
    """Create an account and sign in with it."""
    return await _enter(request, web, address, "signup.html", _sign_up_refused, sign_up=True)


def _sign_in_refused(exc: IdentityRefused) -> tuple[int, str]:
    if exc.status in (400, 401, 422):
        return 400, "That e-mail and password do not match an account."
    return (exc.status if exc.status == 429 else 400 if exc.status < 500 else 503), exc.detail


def _sign_up_refused(exc: IdentityRefused) -> tuple[int, str]:
    return (exc.status if exc.status == 429 else 400 if exc.status < 500 else 503), exc.detail


async def _enter(request: Request, web: WebContext, address: ClientAddress, template: str,
                 refused: Callable[[IdentityRefused], tuple[int, str]], *,
                 sign_up: bool = False) -> Response:
    """The posted form's account (created first with ``sign_up``) signed in with a new session,
    then on to `next`, or, when the form carries an add asked for before signing in (``add``,
    ``quantity``, ``key``), that add made and on to the cart; a refusal is the form again with
    its status and message. Identity is told the visitor's ``address`` (the edge's proven one):
    its throttles count that visitor, not the front end, through which every shopper signs in."""
    v = await visit(request, web)
    try:
        form = await posted(v)
    except Answer:
        if v.signed_in and not sign_up:  # in another tab meanwhile: this form's token was
            # the anonymous session's, which signing in replaced; nothing to do but go on
            return redirect(v, safe_next(form_fields(await request.body()).get("next")))
        raise
    email, password, target = (form.get("email").strip(), form.get("password"),
                               safe_next(form.get("next")))
    add, key = pending_add(form.get("add"), form.get("quantity")), form.get("key")
    try:
        if sign_up:
            await web.sessions.identity.sign_up(email, password, str(address))
        opened = await web.sessions.sign_in(email, password, v.session, clock.time(),
                                            str(address))
    except IdentityRefused as exc:
        status, error = refused(exc)
        return page(v, template, status, next=target, email=email, error=error,
                    **_carried(add, key))
    except ServiceCallError:
        return _unavailable(v, template, next=target, email=email, **_carried(add, key))
    v.session, v.new_token = opened.session, opened.token
    if add is not None:
        return await add_line(v, add, key, target)
    return redirect(v, target)


@router.post("/signout", body=FORM, responses={303: (None, "signed out: to the shop"),
                                               403: HTML})
async def sign_out(request: Request, web: WebContext) -> Response:
    """Sign out: the session is deleted (its cookie opens nothing any more) and identity
    revokes its refresh token."""
    v = await visit(request, web)
    await posted(v)  # the cross-site checks; the form has no other field
    assert v.session is not None
    await web.sessions.sign_out(v.session)
    v.session, v.clear_cookie = None, True
    return redirect(v, "/")
