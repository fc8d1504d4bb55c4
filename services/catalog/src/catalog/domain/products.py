"""Products and categories, and the rules every one of them keeps."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from catalog.domain.errors import InvalidProduct
from catalog.domain.money import Money

__all__ = ["MAX_DESCRIPTION_LENGTH", "MAX_NAME_LENGTH", "MAX_SKU_LENGTH", "MAX_SLUG_LENGTH",
           "Category", "CategorySummary", "Product", "is_sku", "is_slug", "normalize_product_id"]

MAX_SKU_LENGTH = 32
MAX_SLUG_LENGTH = 64
MAX_NAME_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 4000

_SKU = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)*")
_SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_sku(value: str) -> bool:
    """Upper-case letters and digits in dash-separated groups, e.g. ``KIT-0007``."""
    return len(value) <= MAX_SKU_LENGTH and _SKU.fullmatch(value) is not None


def is_slug(value: str) -> bool:
    """Lower-case letters and digits in dash-separated groups, e.g. ``coffee-tea``."""
    return len(value) <= MAX_SLUG_LENGTH and _SLUG.fullmatch(value) is not None


def normalize_product_id(value: str) -> str | None:
    """The canonical (lower-case, hyphenated) form of a product id, or None if it is not a UUID.

    Only the hyphenated form is accepted, in either case, so each product has one URL up to case.
    """
    lowered = value.lower()
    return lowered if _UUID.fullmatch(lowered) else None


def _require_name(name: str, max_length: int, what: str) -> None:
    if not name.strip() or len(name) > max_length or _CONTROL.search(name):
        raise InvalidProduct(f"{what} must be 1 to {max_length} printable characters, not blank")


@dataclass(frozen=True, slots=True)
class Category:
    slug: str
    name: str

    def __post_init__(self) -> None:
        if not is_slug(self.slug):
            raise InvalidProduct("category slug must be lower-case words joined by dashes")
        _require_name(self.name, 100, "category name")


@dataclass(frozen=True, slots=True)
class CategorySummary:
    """A category as the storefront menu shows it: with how many products it lists."""

    slug: str
    name: str
    product_count: int


@dataclass(frozen=True, slots=True)
class Product:
    id: str
    sku: str
    name: str
    description: str
    price: Money
    category: str  # the category's slug
    created_at: datetime
    updated_at: datetime
    # A retired product is no longer sold: it disappears from listings and lookups, but its row
    # stays so that its SKU is never reused for something else.
    retired_at: datetime | None = None

    def __post_init__(self) -> None:
        if normalize_product_id(self.id) != self.id:
            raise InvalidProduct("product id must be a lower-case hyphenated UUID")
        if not is_sku(self.sku):
            raise InvalidProduct("SKU must be upper-case letters and digits joined by dashes")
        _require_name(self.name, MAX_NAME_LENGTH, "product name")
        # line breaks are fine in a description; NUL is not (PostgreSQL text cannot hold it)
        if len(self.description) > MAX_DESCRIPTION_LENGTH or "\x00" in self.description:
            raise InvalidProduct(
                f"description must be at most {MAX_DESCRIPTION_LENGTH} characters, without NUL")
        if not is_slug(self.category):
            raise InvalidProduct("category must be a category slug")
        stamps = (self.created_at, self.updated_at, self.retired_at)
        if any(stamp is not None and stamp.tzinfo is None for stamp in stamps):
            raise InvalidProduct("timestamps must carry a time zone")
        if self.updated_at < self.created_at:
            raise InvalidProduct("updated_at must not be before created_at")

    @property
    def is_listed(self) -> bool:
        """Shown to shoppers: in listings, searches and lookups."""
        return self.retired_at is None
