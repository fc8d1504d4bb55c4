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
