"""What can go wrong when the shop asks another service, in the shop's own words (the pages
turn each into a page: 404, a 4xx with the reason, 503)."""

from __future__ import annotations

__all__ = ["NotFound", "Refused", "ShopError", "Unavailable"]


class ShopError(Exception):
    """Base of the storefront's errors."""


class NotFound(ShopError):
    """No such product, category or order (or not the visitor's own)."""


class Unavailable(ShopError):
    """A service the page needs did not answer (down, overloaded, timed out)."""


class Refused(ShopError):
    """The service said no: ``status`` its HTTP status, ``slug`` the problem's kind
    (``orders/empty-cart``), ``detail`` its words."""

    def __init__(self, status: int, slug: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.slug = slug
        self.detail = detail
