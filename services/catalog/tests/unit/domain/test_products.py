from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from catalog.domain.errors import InvalidProduct
from catalog.domain.products import Category, is_sku, is_slug, normalize_product_id

from ...factories import T0, make_product

pytestmark = pytest.mark.unit

UUID = "0190f3a2-7b1c-7d4e-8f00-123456789abc"


def test_normalizes_a_product_id_in_either_case_to_lower_case() -> None:
    assert normalize_product_id(UUID) == UUID
    assert normalize_product_id(UUID.upper()) == UUID


@pytest.mark.parametrize("raw", ["", "not-a-uuid", UUID.replace("-", ""), "{" + UUID + "}",
                                 "urn:uuid:" + UUID, UUID + "0", " " + UUID, UUID + "\n"])
def test_anything_but_a_hyphenated_uuid_is_not_a_product_id(raw: str) -> None:
    assert normalize_product_id(raw) is None


@pytest.mark.parametrize(("value", "ok"), [
    ("KIT-0007", True), ("ABC123", True), ("A-B-C", True), ("kit-0007", False), ("KIT--7", False),
    ("-KIT", False), ("KIT-", False), ("KIT 7", False), ("", False), ("K" * 33, False)])
def test_sku_shape(value: str, ok: bool) -> None:
    assert is_sku(value) is ok


@pytest.mark.parametrize(("value", "ok"), [
    ("coffee-tea", True), ("books", True), ("Books", False), ("coffee_tea", False),
    ("coffee--tea", False), ("", False), ("a" * 65, False)])
def test_slug_shape(value: str, ok: bool) -> None:
    assert is_slug(value) is ok


def test_a_description_may_span_lines() -> None:
    assert make_product(description="Line one.\nLine two.\tTabbed.").description.count("\n") == 1


def test_a_valid_product_is_listed_until_retired() -> None:
    assert make_product().is_listed
    assert not make_product(retired_at=T0).is_listed


@pytest.mark.parametrize("change", [
    {"sku": "kit-1"}, {"name": "   "}, {"name": "x" * 201}, {"name": "Tab\tName"},
    {"name": "Nul\x00"}, {"description": "x" * 4001}, {"description": "nul \x00"},
    {"category": "Kitchen"}, {"product_id": "not-a-uuid"}, {"product_id": UUID.upper()}])
def test_rejects_a_product_that_breaks_a_rule(change: dict[str, str]) -> None:
    with pytest.raises(InvalidProduct):
        make_product(**change)  # type: ignore[arg-type]


def test_rejects_timestamps_without_a_zone_or_out_of_order() -> None:
    product = make_product()
    with pytest.raises(InvalidProduct):
        replace(product, created_at=datetime(2025, 1, 1))
    with pytest.raises(InvalidProduct):
        replace(product, updated_at=T0 - timedelta(seconds=1))


def test_rejects_a_category_with_a_bad_slug_or_blank_name() -> None:
    with pytest.raises(InvalidProduct):
        Category(slug="Coffee & Tea", name="Coffee & Tea")
    with pytest.raises(InvalidProduct):
        Category(slug="coffee-tea", name=" ")
