"""The front end's own static files (the shop's and the console's stylesheets and scripts, the
icon), cached for a year under a content-hashed URL (``pages.static_url``)."""

from __future__ import annotations

from typing import Annotated

from chassis.web import Media, Path, Query, Response, Router
from web.entrypoints.pages import _STATIC, STATIC_VERSIONS

__all__ = ["router"]

router = Router(tags=["static"])

_TYPES = {"css": "text/css; charset=utf-8", "js": "text/javascript; charset=utf-8",
          "svg": "image/svg+xml"}
_FILES = {name: (_STATIC / name).read_bytes() for name in STATIC_VERSIONS}
_NOT_FOUND = b"not found"


@router.get("/static/{name}", responses={
    200: (Media("text/css"), Media("text/javascript"), Media("image/svg+xml")),
    404: Media("text/plain", "no such file")})
async def static_file(name: Annotated[str, Path(max_length=64)],
                      v: Annotated[str | None, Query(
                          max_length=64, description="the content's hash (cache busting)")] = None,
                      ) -> Response:
    """One static file."""
    body = _FILES.get(name)
    if body is None:
        return Response(_NOT_FOUND, 404, media_type="text/plain; charset=utf-8",
                        headers={"X-Content-Type-Options": "nosniff"})
    return Response(body, media_type=_TYPES[name.rsplit(".", 1)[-1]], headers={
        "Cache-Control": "public, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff"})
