"""The problems the front end has its own words for are problems the services answer: a slug
renamed in a service would otherwise drop the shopper to the generic "That did not work"."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.unit


def test_every_checkout_refusal_the_shop_words_is_one_orders_answers() -> None:
    from orders.app import PROBLEMS
    from web.entrypoints.cart import CHECKOUT_REFUSALS

    answered = {slug: status for status, slug in PROBLEMS.values()}
    assert set(CHECKOUT_REFUSALS) <= set(answered), set(CHECKOUT_REFUSALS) - set(answered)
    assert all(400 <= answered[slug] < 500 for slug in CHECKOUT_REFUSALS)  # refusals, not outages
    assert {"orders/empty-cart", "orders/cart-already-ordered"} <= set(CHECKOUT_REFUSALS)


def test_the_slug_the_shop_words_an_overfull_line_by_is_one_the_cart_answers() -> None:
    from cart.app import PROBLEMS
    from web.entrypoints.cart import LINE_FULL

    assert (422, LINE_FULL) in PROBLEMS.values()
