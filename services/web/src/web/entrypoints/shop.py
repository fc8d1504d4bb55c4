"""The storefront's pages."""

from __future__ import annotations

from chassis.web import Request, Response, Router
from web.entrypoints.pages import HTML, page, visit
from web.service.context import WebContext

__all__ = ["router"]

router = Router(tags=["shop"])


@router.get("/", responses={200: HTML})
async def home(request: Request, web: WebContext) -> Response:
    """The shop's front page."""
    v = await visit(request, web)
    return page(v, "home.html")
