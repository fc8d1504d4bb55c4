from __future__ import annotations

import pytest

from catalog.adapters.sql_values import like_pattern, search_text

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("text", "pattern"), [
    ("Tea", "%tea%"), ("72%", "%72\\%%"), ("a_b", "%a\\_b%"), ("back\\slash", "%back\\\\slash%"),
    ("STRASSE", "%strasse%"), ("Straße", "%strasse%")])
def test_like_patterns_are_case_folded_and_escape_wildcards(text: str, pattern: str) -> None:
    assert like_pattern(text) == pattern


def test_search_text_folds_case_beyond_ascii() -> None:
    assert search_text("Crème BRÛLÉE", "Straße") == "crème brûlée\nstrasse"


def test_a_decomposed_accent_finds_the_composed_one_and_the_other_way_round() -> None:
    composed, decomposed = "Caf\u00e9 de Olla", "Cafe\u0301 de Olla"
    assert search_text(composed) == search_text(decomposed) == "caf\u00e9 de olla"
    assert like_pattern("CAFE\u0301") == like_pattern("caf\u00e9") == "%caf\u00e9%"
