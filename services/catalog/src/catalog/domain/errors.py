"""Domain errors. They know nothing of HTTP: ``catalog.app`` maps them to problem+json."""

from __future__ import annotations

__all__ = ["CatalogError", "CategoryNotFound", "InvalidMoney", "InvalidProduct", "ProductNotFound",
           "SkuTaken", "UnknownCategory"]


class CatalogError(Exception):
    """Base of every error the catalog raises on purpose."""


class ProductNotFound(CatalogError):
    """No listed product matches the id or SKU asked for."""


class CategoryNotFound(CatalogError):
    """No category has the slug asked for."""


class InvalidProduct(CatalogError, ValueError):
    """A product or category breaks a rule of the catalog (bad SKU, empty name …)."""


class InvalidMoney(InvalidProduct):
    """An amount that is negative, not an integer, or in something that is not a currency code."""


class SkuTaken(CatalogError):
    """Another product, listed or retired, already has this SKU: SKUs are never reused."""


class UnknownCategory(InvalidProduct):
    """A product names a category that does not exist."""
