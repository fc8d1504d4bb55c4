"""Sign up, sign in, sign out: forms posted to the front end, which talks to identity and keeps
the tokens in the server-side session (they never reach the browser)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from chassis import clock
from chassis.http import ServiceCallError
from chassis.web import Answer, ClientAddress, Query, Request, Response, Router
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
_SEE_OTHER = (None, "done: on to `next` (a page of this site)")
_PAGES = {200: HTML, 303: _SEE_OTHER, 400: HTML, 403: HTML,
          429: (HTML, "too many failed sign-ins from this address or for this account: the "
                      "form again, saying when to try again"), 503: HTML}


def _unavailable(v: Visit, template: str, **context: str) -> Response:
    return page(v, template, 503, error="Accounts are unavailable for a moment; please try "
                                        "again shortly.", **context)


async def _empty_form(request: Request, web: WebContext, template: str, next: str) -> Response:
    """An account form to fill in (a session opened for its CSRF token); on to ``next`` for
    someone signed in already."""
    v = await visit(request, web)
    if v.signed_in:
        return redirect(v, safe_next(next))
    await v.ensure_session()
    return page(v, template, next=safe_next(next), email="", error=None)


@router.get("/signin", responses={200: HTML, 303: (None, "already signed in")})
async def sign_in_form(request: Request, web: WebContext, next: Next = "/") -> Response:
    """The sign-in form."""
    return await _empty_form(request, web, "signin.html", next)


@router.post("/signin", body=FORM, responses=_PAGES)
async def sign_in(request: Request, web: WebContext, address: ClientAddress) -> Response:
    """Sign in: a new session (the visitor's old one is dropped), then on to `next`."""
    return await _enter(request, web, address, "signin.html", _sign_in_refused)


@router.get("/signup", responses={200: HTML, 303: (None, "already signed in")})
async def sign_up_form(request: Request, web: WebContext, next: Next = "/") -> Response:
    """The form to create an account."""
    return await _empty_form(request, web, "signup.html", next)


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
    then on to `next`; a refusal is the form again with its status and message. Identity is
    told the visitor's ``address`` (the edge's proven one): its throttles count that visitor,
    not the front end, through which every shopper signs in."""
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
    try:
        if sign_up:
            await web.sessions.identity.sign_up(email, password, str(address))
        opened = await web.sessions.sign_in(email, password, v.session, clock.time(),
                                            str(address))
    except IdentityRefused as exc:
        status, error = refused(exc)
        return page(v, template, status, next=target, email=email, error=error)
    except ServiceCallError:
        return _unavailable(v, template, next=target, email=email)
    v.session, v.new_token = opened.session, opened.token
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
