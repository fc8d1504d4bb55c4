"""How a page is answered: the visitor's session from its cookie, HTML rendered by Jinja2
(autoescaped), the security headers every page carries, redirects, and posted forms checked
against cross-site requests (the session's CSRF token, and the browser's own Origin and
Sec-Fetch-Site) before anything is done.

Every route of the front end answers HTML, never problem+json: its errors read like a shop's."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from importlib.resources import files
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import jinja2

from chassis import clock
from chassis.http import PROXY_STATUS, proxy_status
from chassis.problems import Problem
from chassis.web import Answer, Media, Request, Response
from web.domain.money import money
from web.domain.sessions import Session, same_secret
from web.service.context import WebContext

__all__ = ["COOKIE", "FORM", "HTML", "Posted", "Visit", "error_page", "form_fields", "page",
           "pages", "posted", "redirect", "safe_next", "static_url", "visit"]

COOKIE = "souk_session"
HTML = Media("text/html", "a page of the shop (or of the console)")
FORM = Media("application/x-www-form-urlencoded", "an HTML form, with its `csrf` field")
MAX_FORM_BYTES = 16 * 1024

# No inline script or style anywhere: everything the page runs or wears comes from /static.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
# every 503 page of the front end stands for a service behind it (its caller's breaker must not
# take the whole front end for the one service that is away: chassis.http.errors)
_PROXY_STATUS = proxy_status("web")
_SECURITY = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
             "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY",
             "Cross-Origin-Opener-Policy": "same-origin"}
_STATIC = files("web") / "static"


def _versions() -> dict[str, str]:
    return {entry.name: hashlib.sha256(entry.read_bytes()).hexdigest()[:12]
            for entry in _STATIC.iterdir() if entry.is_file()}


STATIC_VERSIONS = _versions()


def static_url(name: str) -> str:
    """``/static/<name>?v=<content hash>``: cached for a year, changed with its content."""
    return f"/static/{name}?v={STATIC_VERSIONS[name]}"


pages = jinja2.Environment(
    loader=jinja2.PackageLoader("web", "templates"),
    autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
    trim_blocks=True, lstrip_blocks=True, undefined=jinja2.StrictUndefined)
pages.globals.update(static=static_url)
pages.filters["money"] = money


def order_ref(order_id: str) -> str:
    """An order's short name: the end of its id (an id begins with its time, so orders placed
    within a minute share their first eight characters)."""
    return order_id[-8:]


pages.filters["order_ref"] = order_ref


@dataclass(slots=True)
class Visit:
    """The browser behind a request: its session (None = anonymous without one) and what the
    answer must do to its cookie."""

    request: Request
    web: WebContext
    session: Session | None
    new_token: str | None = None  # set this cookie
    clear_cookie: bool = False

    @property
    def signed_in(self) -> bool:
        return self.session is not None and self.session.signed_in

    @property
    def bearer(self) -> str:
        """The signed-in user's access token (for calls on their behalf)."""
        assert self.session is not None and self.session.tokens is not None
        return self.session.tokens.access_token

    async def ensure_session(self) -> Session:
        """This visitor's session, opened now if they have none (a form needs its CSRF
        token)."""
        if self.session is None:
            opened = await self.web.sessions.open_anonymous(clock.time())
            self.session, self.new_token = opened.session, opened.token
        return self.session

    def cookies(self) -> list[tuple[str, str]]:
        secure = "; Secure" if self.web.cookie_secure else ""
        if self.new_token is not None and self.session is not None:
            age = max(0, int(self.session.expires_at - clock.time()))
            return [("Set-Cookie", f"{COOKIE}={self.new_token}; Path=/; Max-Age={age}; "
                                   f"HttpOnly; SameSite=Lax{secure}")]
        if self.clear_cookie:
            return [("Set-Cookie", f"{COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax{secure}")]
        return []


def _cookie(request: Request) -> str | None:
    raw = request.header("cookie")
    if not raw:
        return None
    try:
        jar: SimpleCookie = SimpleCookie(raw)
    except CookieError:
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else None


async def visit(request: Request, web: WebContext) -> Visit:
    """The visitor: their live session, or none (a stale cookie is cleared)."""
    token = _cookie(request)
    session = await web.sessions.find(token, clock.time())
    return Visit(request, web, session, clear_cookie=token is not None and session is None)


def _response(body: bytes, status: int, visit: Visit | None,
              headers: dict[str, str] | None = None) -> Response:
    if status == 503 and visit is not None:
        # a page of the shop is unavailable only when a service behind it is; the chassis's
        # own 503s (this instance overloaded: Retry-After) come through error_page, without
        # a visit, and stay this instance's own
        headers = {PROXY_STATUS: _PROXY_STATUS, **(headers or {})}
    response = Response(body, status, headers={**_SECURITY, "Cache-Control": "no-store",
                                               **(headers or {})},
                        media_type="text/html; charset=utf-8")
    if visit is not None:
        response.headers.extend((k.lower().encode(), v.encode("latin-1"))
                                for k, v in visit.cookies())
    return response


def page(visit: Visit, template: str, status: int = 200, **context: Any) -> Response:
    """``template`` rendered for this visitor (the layout shows who is signed in)."""
    session = visit.session
    html = pages.get_template(template).render(
        user=session if session is not None and session.signed_in else None,
        csrf=session.csrf if session is not None else "", path=visit.request.path, **context)
    return _response(html.encode(), status, visit)


def redirect(visit: Visit, location: str) -> Response:
    """303 See Other: after a form, the browser GETs ``location``."""
    return _response(b"", 303, visit, {"Location": location})


# what a Location header carries as it is: printable ASCII; the rest is percent-encoded
_PRINTABLE = "".join(chr(c) for c in range(0x21, 0x7F))


def safe_next(value: str | None, default: str = "/") -> str:
    """A ``next`` target that stays on this site (a path, never ``//host`` or a URL), fit for a
    ``Location`` header: a control character (a CR or LF ended the answer's head, and the
    server dropped the connection: the edge counted a failure of the front end per try) or
    any other character outside printable ASCII is percent-encoded."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return quote(value, safe=_PRINTABLE)


@dataclass(frozen=True, slots=True)
class Posted:
    """A form that passed the cross-site checks: its fields (the last value of each)."""

    fields: dict[str, str]

    def get(self, name: str, default: str = "") -> str:
        return self.fields.get(name, default)


def _same_origin(request: Request) -> bool:
    site = request.header("sec-fetch-site")
    if site is not None and site not in ("same-origin", "none"):
        return False
    origin = request.header("origin")
    if origin is None or origin == "null":
        return origin is None  # an opaque origin (a sandboxed frame, a data: page) is refused
    host = request.header("x-forwarded-host") or request.header("host") or ""
    return urlsplit(origin).netloc == host


def form_fields(body: bytes) -> dict[str, str]:
    """A posted form's fields (the last value of each); none when it is too large or not one."""
    fields: dict[str, str] = {}
    if len(body) <= MAX_FORM_BYTES:
        try:
            for name, values in parse_qs(body.decode(), keep_blank_values=True,
                                         max_num_fields=64).items():
                fields[name] = values[-1]
        except (UnicodeDecodeError, ValueError):
            fields = {}
    return fields


async def posted(visit: Visit) -> Posted:
    """The posted form if it comes from a page of this site, with this session's CSRF token;
    else the request is answered with the 403 page (nothing was done)."""
    request = visit.request
    fields = form_fields(await request.body())
    session = visit.session
    if (session is None or not _same_origin(request)
            or not same_secret(fields.get("csrf", ""), session.csrf)):
        raise Answer(page(visit, "refused.html", 403))
    return Posted(fields)


_HEADINGS = {400: ("That address is not quite right",
                   "Part of the address is not what this page expects. Check it, or start again "
                   "from the shop."),
             404: ("Page not found", "There is no page at this address."),
             405: ("Not here", "This page cannot be used that way."),
             413: ("Too much at once", "That was more than this form accepts."),
             503: ("Busy right now", "The shop is very busy; please try again in a moment.")}


def error_page(error: Problem, request: Request) -> Response:
    """The chassis's own problems (no route, a bad parameter, a body too large, overload) as a
    page of the shop, for browsers (the app answers problem+json to other callers)."""
    heading, message = _HEADINGS.get(error.status, ("Something went wrong", error.detail))
    # made before any session is read: the header offers what is right signed in or not
    html = pages.get_template("error.html").render(
        user=None, account_unknown=True, csrf="", path=request.path, heading=heading,
        message=message)
    return _response(html.encode(), error.status, None, dict(error.headers or {}))
