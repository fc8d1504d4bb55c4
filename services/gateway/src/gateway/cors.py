"""CORS at the edge: which pages of other origins may call the API from a browser.

Off unless ``cors_origins`` names some (``GATEWAY_CORS_ORIGINS=https://shop.example``, or live:
``souk config set gateway.cors_origins '["https://shop.example"]'``). When on, for a request
carrying an ``Origin`` that is allowed:

* a preflight (``OPTIONS`` with ``Access-Control-Request-Method``) is answered by the gateway
  itself, before authentication and rate limits (a browser sends no credentials with it), and
  never forwarded: 204 with the methods and request headers the API takes and how long the
  browser may remember that; a method or a request header the API does not take is refused
  with a 403 problem naming it;
* every other answer to it, the gateway's own problems included, carries
  ``Access-Control-Allow-Origin`` (that origin, never ``*``: answers differ by origin, so
  ``Vary: Origin``) and ``Access-Control-Expose-Headers`` (the headers a page may need:
  the request id, ``Retry-After``, the rate-limit headers, ``Location``,
  ``Preference-Applied``).

An origin not allowed gets no CORS headers (its browser keeps the answer from the page) and its
preflight a 403 problem. While CORS is on every answer says ``Vary: origin``, with or without an
``Origin`` in the request: a shared cache must not hand an answer made for one origin (or for
none) to another. No credentials mode: the API takes bearer tokens, not cookies, so
``Access-Control-Allow-Credentials`` is never sent. A request without ``Origin`` (every
non-browser client, and a browser on the gateway's own origin for a GET) costs a dictionary
lookup and that one header line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from chassis.problems import Problem

__all__ = ["ALLOWED_HEADERS", "ALLOWED_METHODS", "ORIGIN_PATTERN", "VARY_ORIGIN", "Cors",
           "check_origins"]

# what the API takes: the methods its routes answer, and the request headers the services read
# beyond the CORS-safelisted ones (Accept, Accept-Language, Content-Language)
ALLOWED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
ALLOWED_HEADERS = ("authorization", "content-type", "idempotency-key", "prefer", "x-request-id")
EXPOSED_HEADERS = ("location", "preference-applied", "ratelimit-limit", "ratelimit-policy",
                   "ratelimit-remaining", "ratelimit-reset", "retry-after", "x-request-id")

# an origin as a browser sends it (scheme://host[:port], no path), or * for any (the settings'
# pattern, in JSON Schema's dialect: no flags)
ORIGIN_PATTERN = r"^(\*|https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?)$"
_ORIGIN = re.compile(ORIGIN_PATTERN)
_METHODS = frozenset(ALLOWED_METHODS)
_HEADERS = frozenset(ALLOWED_HEADERS)
_SAFELISTED = frozenset({"accept", "accept-language", "content-language"})
_ALLOW_METHODS = ", ".join(ALLOWED_METHODS).encode()
_ALLOW_HEADERS = ", ".join(ALLOWED_HEADERS).encode()
_EXPOSE = ", ".join(EXPOSED_HEADERS).encode()
_PREFLIGHT_VARY = b"origin, access-control-request-method, access-control-request-headers"
VARY_ORIGIN = b"vary: origin\r\n"  # every answer while CORS is on


def check_origins(origins: Iterable[str]) -> tuple[str, ...]:
    """The origins as the gateway compares them (lower case), or ``ValueError`` naming the first
    that is not ``scheme://host[:port]`` (no path, no trailing slash) nor ``*``."""
    checked = []
    for origin in origins:
        value = origin.strip().lower()
        if not _ORIGIN.match(value):
            raise ValueError(f"cors_origins: {origin!r} is not an origin (scheme://host[:port], "
                             "no path) nor *")
        checked.append(value)
    return tuple(checked)


class Cors:
    """The policy for a set of allowed origins (``*``: any)."""

    __slots__ = ("_any", "_lines", "_origins", "max_age")

    def __init__(self, origins: Iterable[str], *, max_age: int = 600) -> None:
        checked = check_origins(origins)
        self._any = "*" in checked
        self._origins = frozenset(o.encode() for o in checked if o != "*")
        self.max_age = max_age
        self._lines: dict[bytes, bytes] = {}  # per allowed origin: the lines of every answer

    def allows(self, origin: bytes) -> bool:
        return self._any or origin.lower() in self._origins

    def lines(self, origin: bytes) -> bytes:
        """The header lines (wire format) added to every answer to ``origin``, an allowed one."""
        lines = self._lines.get(origin)
        if lines is None:
            lines = (b"access-control-allow-origin: " + origin + b"\r\n"
                     b"access-control-expose-headers: " + _EXPOSE + b"\r\nvary: origin\r\n")
            if len(self._lines) < 1024:  # bounded: with `*` any page may bring a new origin
                self._lines[origin] = lines
        return lines

    def preflight(self, origin: bytes, method: bytes,
                  headers: bytes | None) -> list[tuple[bytes, bytes]]:
        """The headers of a 204 answering a preflight; a :class:`Problem` (403) for an origin,
        a method or a request header that is not allowed."""
        if not self.allows(origin):
            raise Problem(403, "gateway/cors-refused",
                          f"the origin {origin.decode('latin-1')} may not call this API from a "
                          "browser (gateway setting cors_origins)")
        asked = method.decode("latin-1").strip()
        if asked not in _METHODS:
            raise Problem(403, "gateway/cors-refused",
                          f"the method {asked} is not one the API takes "
                          f"({', '.join(ALLOWED_METHODS)})")
        if headers:
            names = [h.strip().lower() for h in headers.decode("latin-1").split(",") if h.strip()]
            refused = [n for n in names if n not in _HEADERS and n not in _SAFELISTED]
            if refused:
                raise Problem(403, "gateway/cors-refused",
                              f"request headers the API does not take: {', '.join(refused)} "
                              f"(it takes {', '.join(ALLOWED_HEADERS)})")
        return [(b"access-control-allow-origin", origin),
                (b"access-control-allow-methods", _ALLOW_METHODS),
                (b"access-control-allow-headers", _ALLOW_HEADERS),
                (b"access-control-max-age", b"%d" % self.max_age),
                (b"vary", _PREFLIGHT_VARY)]
