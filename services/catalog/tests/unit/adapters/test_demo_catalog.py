from __future__ import annotations

from collections import Counter

import pytest

from catalog.adapters.demo_catalog import DEMO_CURRENCY, demo_catalog

from ...factories import T0

pytestmark = pytest.mark.unit


def test_the_demo_catalog_is_big_enough_to_page_through() -> None:
    seed = demo_catalog(T0)
    assert len(seed.categories) >= 6
    assert len(seed.products) >= 60
    per_category = Counter(p.category for p in seed.products)
    assert set(per_category) == {c.slug for c in seed.categories}  # no empty, no unknown category


def test_demo_skus_names_and_ids_are_unique() -> None:
    products = demo_catalog(T0).products
    for field in ("sku", "name", "id"):
        values = [getattr(p, field) for p in products]
        assert len(set(values)) == len(values), field


def test_demo_prices_are_positive_euro_amounts() -> None:
    assert all(p.price.currency == DEMO_CURRENCY and p.price.amount_minor > 0
               for p in demo_catalog(T0).products)


def test_demo_skus_share_a_prefix_within_each_category() -> None:
    prefixes: dict[str, set[str]] = {}
    for product in demo_catalog(T0).products:
        prefixes.setdefault(product.category, set()).add(product.sku.split("-")[0])
    assert all(len(found) == 1 for found in prefixes.values())
    assert len({next(iter(found)) for found in prefixes.values()}) == len(prefixes)
