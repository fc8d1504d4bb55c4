from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from web.domain.art import category_art

pytestmark = pytest.mark.unit

SVG = "{http://www.w3.org/2000/svg}"


def test_draws_a_well_formed_svg_picture_for_a_category() -> None:
    root = ET.fromstring(category_art("coffee-tea"))
    assert root.tag == f"{SVG}svg"
    assert root.get("viewBox") == "0 0 320 200"
    assert len(list(root)) > 3


def test_the_same_category_always_gets_the_same_picture() -> None:
    assert category_art("kitchen") == category_art("kitchen")


def test_different_categories_get_different_pictures() -> None:
    slugs = ["books", "coffee-tea", "electronics", "home", "kitchen", "outdoor", "pantry",
             "stationery"]
    assert len({category_art(slug) for slug in slugs}) == len(slugs)


def test_pictures_stay_small() -> None:
    assert len(category_art("electronics").encode()) < 2048


@pytest.mark.parametrize("slug", ["", "Kitchen", "../etc", 'a"b', "a" * 65, "<svg>", "-x"])
def test_refuses_what_is_not_a_slug_so_it_never_reaches_the_document(slug: str) -> None:
    with pytest.raises(ValueError, match="slug"):
        category_art(slug)
