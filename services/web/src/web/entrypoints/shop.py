"""The storefront's catalog pages: the front page (categories and products), search, a
category, a product with its price and stock, and each category's picture."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Annotated

from chassis.web import Media, Path, Query, Request, Response, Router
from web.adapters.shop import Shop
from web.domain.art import SLUG, category_art
from web.domain.errors import NotFound, Refused, ShopError
from web.entrypoints.failures import bad_request, failed, not_found
from web.entrypoints.pages import HTML, page, visit
from web.service.context import WebContext

__all__ = ["router"]

router = Router(tags=["shop"], ignore_other_query=True)

Cursor = Annotated[str | None, Query(description="the page after this one (from a `Next` link)")]
MAX_CURSOR = 500
MAX_SEARCH = 100
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PAGES = {200: HTML, 400: HTML, 503: HTML}
_SVG = Media("image/svg+xml", "the category's picture")


def _cursor(cursor: str | None) -> str | None:
    if cursor is not None and (not cursor or len(cursor) > MAX_CURSOR):
        raise ValueError("broken page link")
    return cursor


@router.get("/", responses=_PAGES)
async def home(request: Request, web: WebContext, cursor: Cursor = None) -> Response:
    """The shop's front page: the categories, then every product a page at a time."""
    v = await visit(request, web)
    shop = Shop(web.client)
    try:  # both at once: the page waits for the slower, not for the sum
        listing, categories = await asyncio.gather(shop.products(cursor=_cursor(cursor)),
                                                   shop.categories())
    except (ValueError, Refused):
        return bad_request(v, "That page link is broken.")
    except ShopError as exc:
        return failed(v, exc)
    return page(v, "home.html", categories=categories, listing=listing)


@router.get("/search", responses=_PAGES)
async def search(request: Request, web: WebContext,
                 q: Annotated[str | None, Query(description="text to find")] = None,
                 cursor: Cursor = None) -> Response:
    """Products whose name or description holds the text."""
    v = await visit(request, web)
    text = (q or "").strip()
    if len(text) > MAX_SEARCH or _CONTROL.search(text):
        return page(v, "search.html", 400, query=text[:MAX_SEARCH], listing=None,
                    error=f"Search for up to {MAX_SEARCH} letters, digits or signs.")
    if not text:
        return page(v, "search.html", query="", listing=None, error=None)
    try:
        listing = await Shop(web.client).products(cursor=_cursor(cursor), text=text)
    except (ValueError, Refused):
        return bad_request(v, "That page link is broken.", back="/search")
    except ShopError as exc:
        return failed(v, exc)
    return page(v, "search.html", query=text, listing=listing, error=None)


@router.get("/categories/{slug}", responses={**_PAGES, 404: HTML})
async def category(request: Request, web: WebContext, slug: Annotated[str, Path()],
                   cursor: Cursor = None) -> Response:
    """One category's products."""
    v = await visit(request, web)
    if not SLUG.match(slug):
        return not_found(v, "category")
    shop = Shop(web.client)
    try:
        categories, listing = await asyncio.gather(
            shop.categories(), shop.products(cursor=_cursor(cursor), category=slug))
        found = [c for c in categories if c["slug"] == slug]
        if not found:
            raise NotFound(slug)
    except (ValueError, Refused):
        return bad_request(v, "That page link is broken.", back=f"/categories/{slug}")
    except ShopError as exc:
        return failed(v, exc, "category")
    return page(v, "category.html", category=found[0], listing=listing)


@router.get("/products/{product_id}", responses={**_PAGES, 404: HTML})
async def product(request: Request, web: WebContext,
                  product_id: Annotated[str, Path()]) -> Response:
    """A product: its picture, price, description and how many are in stock."""
    v = await visit(request, web)
    shop = Shop(web.client)
    if len(product_id) > 64:
        return not_found(v, "product")
    try:
        item, categories = await asyncio.gather(shop.product(product_id), shop.categories())
    except ShopError as exc:
        return failed(v, exc, "product")
    names = {c["slug"]: c["name"] for c in categories}
    try:  # the product is worth showing even when its stock cannot be known right now
        available: int | None = await shop.available(item["sku"])
    except ShopError:
        available = None
    # the add's key, made as the form is shown (pages are not stored: Back shows a new one)
    return page(v, "product.html", product=item, available=available,
                category=names.get(item["category"], item["category"]),
                key=f"add-{uuid.uuid4().hex}")


@router.get("/art/{slug}.svg", responses={200: _SVG, 404: Media("text/plain", "no such picture")})
async def art(slug: Annotated[str, Path()]) -> Response:
    """A category's picture (generated from its slug alone, so it never changes)."""
    try:
        svg = category_art(slug)
    except ValueError:
        return Response(b"not found", 404, media_type="text/plain; charset=utf-8",
                        headers={"X-Content-Type-Options": "nosniff"})
    return Response(svg.encode(), media_type="image/svg+xml", headers={
        "Cache-Control": "public, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'"})
