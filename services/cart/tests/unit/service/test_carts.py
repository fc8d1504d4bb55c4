"""The cart's use cases on in-memory carts: one transaction per change, prices asked before it,
a refused change leaves the cart as it was."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from cart.domain.cart import MAX_LINES, CartLine
from cart.domain.errors import (
    AddKeyReused,
    CartChanged,
    CartFull,
    DuplicateSku,
    InvalidQuantity,
    ItemNotFound,
    MixedCurrencies,
    PricingUnavailable,
    UnknownSku,
)
from cart.domain.pricing import PricedCart
from cart.service import carts
from cart.service.pricing import Pricer

from .conftest import FakeCatalog, FakeUnitOfWork

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 1, tzinfo=UTC)


async def replace(uow: FakeUnitOfWork, pricer: Pricer, *lines: tuple[str, int],
                  user: str = "alice") -> PricedCart:
    return await carts.replace_cart(uow, pricer, user, lines, NOW, default_currency="EUR")


async def view(uow: FakeUnitOfWork, pricer: Pricer, user: str = "alice") -> PricedCart:
    return await carts.view_cart(uow, pricer, user, default_currency="EUR")


async def test_replacing_the_cart_costs_one_lookup_and_one_transaction(
        uow: FakeUnitOfWork, pricer: Pricer, catalog: FakeCatalog) -> None:
    priced = await replace(uow, pricer, ("KIT-2", 2), ("KIT-1", 1))
    assert (uow.transactions, catalog.asked) == (1, [["KIT-2", "KIT-1"]])
    assert [(x.sku, x.quantity, x.name) for x in priced.lines] == [
        ("KIT-1", 1, "Product KIT-1"), ("KIT-2", 2, "Product KIT-2")]
    assert (priced.total_minor, priced.version, priced.stale) == (2048, 1, False)
    # the answer is what a read gives
    assert priced == await carts.view_cart(uow, pricer, "alice", default_currency="EUR")
    again = await replace(uow, pricer, ("KIT-1", 3))  # cached prices: the catalog is not asked
    assert len(catalog.asked) == 1 and again.version == 2  # a read is not a change
    assert [(x.sku, x.quantity) for x in again.lines] == [("KIT-1", 3)]


async def test_an_empty_replacement_empties_the_cart_without_asking_for_prices(
        uow: FakeUnitOfWork, pricer: Pricer, catalog: FakeCatalog) -> None:
    await replace(uow, pricer, ("A", 1))
    priced = await replace(uow, pricer)
    assert (priced.lines, priced.total_minor, priced.version) == ((), 0, 2)
    assert catalog.asked == [["A"]]


@pytest.mark.parametrize(("lines", "error"), [
    ((("A", 1), ("A", 2)), DuplicateSku),
    (tuple((f"X-{i}", 1) for i in range(MAX_LINES + 1)), CartFull),
    ((("A", 1), ("NOT-SOLD", 1)), UnknownSku),
])
async def test_a_refused_replacement_changes_nothing(
        uow: FakeUnitOfWork, pricer: Pricer, lines: tuple[tuple[str, int], ...],
        error: type[Exception]) -> None:
    await replace(uow, pricer, ("B", 4))
    with pytest.raises(error):
        await replace(uow, pricer, *lines)
    cart = await carts.view_cart(uow, pricer, "alice", default_currency="EUR")
    assert ([(x.sku, x.quantity) for x in cart.lines], cart.version) == ([("B", 4)], 1)


async def test_mixed_currencies_are_refused_before_anything_is_stored(
        uow: FakeUnitOfWork, pricer: Pricer, catalog: FakeCatalog) -> None:
    catalog.currency["B"] = "USD"
    with pytest.raises(MixedCurrencies):
        await replace(uow, pricer, ("A", 1), ("B", 1))
    assert uow.transactions == 0


async def test_a_line_never_priced_cannot_be_added_while_the_catalog_is_down(
        uow: FakeUnitOfWork, pricer: Pricer, catalog: FakeCatalog) -> None:
    catalog.down = True
    with pytest.raises(PricingUnavailable):
        await carts.set_item(uow, pricer, "alice", "A", 1, NOW)
    with pytest.raises(PricingUnavailable):
        await replace(uow, pricer, ("A", 1))
    assert uow.writes == 0


async def test_a_line_of_another_currency_is_refused_before_anything_is_stored(
        uow: FakeUnitOfWork, pricer: Pricer, catalog: FakeCatalog) -> None:
    """A refused change changes nothing: the line of another currency was stored, the version
    moved, and the cart could no longer be priced (nor ordered) until the line was taken out."""
    catalog.currency["B"] = "USD"
    await carts.set_item(uow, pricer, "alice", "A", 1, NOW)
    before = copy.deepcopy(uow.state)
    for change in (carts.set_item, carts.add_item):
        with pytest.raises(MixedCurrencies, match="B is priced in USD and the cart holds lines "
                                                  "priced in EUR"):
            await change(uow, pricer, "alice", "B", 1, NOW)
    assert uow.state == before
    await carts.set_item(uow, pricer, "alice", "A", 3, NOW)  # its own currency: fine
    assert (await view(uow, pricer)).lines[0].quantity == 3


async def test_an_add_key_sent_again_for_another_add_is_refused(
        uow: FakeUnitOfWork, pricer: Pricer) -> None:
    assert await carts.add_item(uow, pricer, "alice", "A", 1, NOW, key="k-1")
    assert not await carts.add_item(uow, pricer, "alice", "A", 1, NOW, key="k-1")  # made once
    for sku, quantity in (("B", 1), ("A", 2)):
        with pytest.raises(AddKeyReused, match="k-1"):
            await carts.add_item(uow, pricer, "alice", sku, quantity, NOW, key="k-1")
    assert [(line.sku, line.quantity) for line in (await view(uow, pricer)).lines] == [("A", 1)]
    assert await carts.add_item(uow, pricer, "bob", "B", 1, NOW, key="k-1")  # keys are per user


async def test_setting_an_item_adds_or_changes_its_line(uow: FakeUnitOfWork,
                                                        pricer: Pricer) -> None:
    await carts.set_item(uow, pricer, "alice", "A", 1, NOW)
    await carts.set_item(uow, pricer, "alice", "B", 2, NOW)
    await carts.set_item(uow, pricer, "alice", "A", 5, NOW)  # sets, does not add
    cart = await carts.view_cart(uow, pricer, "alice", default_currency="EUR")
    assert [(x.sku, x.quantity) for x in cart.lines] == [("A", 5), ("B", 2)]
    assert cart.version == 3
    with pytest.raises(UnknownSku):
        await carts.set_item(uow, pricer, "alice", "NOT-SOLD", 1, NOW)


async def test_adding_an_item_adds_to_its_line_within_99(uow: FakeUnitOfWork,
                                                          pricer: Pricer) -> None:
    await carts.add_item(uow, pricer, "alice", "A", 2, NOW)  # a new line
    await carts.add_item(uow, pricer, "alice", "B", 1, NOW)
    await carts.add_item(uow, pricer, "alice", "A", 3, NOW)  # adds to what it holds
    with pytest.raises(InvalidQuantity, match="holds 5 of A"):
        await carts.add_item(uow, pricer, "alice", "A", 95, NOW)
    await carts.add_item(uow, pricer, "alice", "A", 94, NOW)
    with pytest.raises(UnknownSku):
        await carts.add_item(uow, pricer, "alice", "NOT-SOLD", 1, NOW)
    cart = await carts.view_cart(uow, pricer, "alice", default_currency="EUR")
    assert [(x.sku, x.quantity) for x in cart.lines] == [("A", 99), ("B", 1)]
    assert cart.version == 4  # the refused add changed nothing
    with pytest.raises(CartChanged):
        await carts.add_item(uow, pricer, "alice", "B", 1, NOW, versions=frozenset({3}))
    assert (await carts.view_cart(uow, pricer, "alice", default_currency="EUR")).version == 4


async def test_an_add_with_a_key_it_made_already_is_not_made_again(uow: FakeUnitOfWork,
                                                                   pricer: Pricer) -> None:
    assert await carts.add_item(uow, pricer, "alice", "A", 2, NOW, key="k1")
    assert not await carts.add_item(uow, pricer, "alice", "A", 2, NOW, key="k1")  # resent
    assert await carts.add_item(uow, pricer, "alice", "A", 1, NOW, key="k2")
    assert await carts.add_item(uow, pricer, "bob", "A", 1, NOW, key="k1")  # keys are per user
    cart = await carts.view_cart(uow, pricer, "alice", default_currency="EUR")
    assert ([(x.sku, x.quantity) for x in cart.lines], cart.version) == ([("A", 3)], 2)
    # a day later the key is forgotten (with the next keyed add) and adds again
    later = NOW + timedelta(days=1, seconds=1)
    assert await carts.add_item(uow, pricer, "alice", "A", 1, later, key="k3")
    assert await carts.add_item(uow, pricer, "alice", "A", 1, later, key="k1")


async def test_an_empty_cart_is_priced_without_asking_the_catalog(
        uow: FakeUnitOfWork, pricer: Pricer, catalog: FakeCatalog) -> None:
    cart = await carts.view_cart(uow, pricer, "nobody", default_currency="EUR")
    assert (cart.lines, cart.version, cart.currency) == ((), 0, "EUR")
    assert catalog.asked == []


async def test_removing_lines_and_clearing_count_as_changes(uow: FakeUnitOfWork,
                                                            pricer: Pricer) -> None:
    await replace(uow, pricer, ("A", 1), ("B", 1))
    await carts.remove_item(uow, "alice", "A", NOW)
    with pytest.raises(ItemNotFound):
        await carts.remove_item(uow, "alice", "A", NOW)
    await carts.clear_cart(uow, "alice", NOW)
    cart = await carts.view_cart(uow, pricer, "alice", default_currency="EUR")
    assert (cart.lines, cart.version) == ((), 3)


async def test_ordered_lines_leave_the_cart_and_nothing_else_changes(
        uow: FakeUnitOfWork, pricer: Pricer) -> None:
    await replace(uow, pricer, ("A", 1), ("B", 2))
    await replace(uow, pricer, ("A", 1), user="bob")
    async with uow() as repo:
        assert await carts.remove_ordered_lines(repo, "alice", [("A", 1), ("KIT-1", 1)],
                                                NOW) == 1
    async with uow() as repo:  # none of the ordered SKUs left: not even the version moves
        assert await carts.remove_ordered_lines(repo, "alice", [("A", 1)], NOW) == 0
    alice = await carts.view_cart(uow, pricer, "alice", default_currency="EUR")
    assert ([x.sku for x in alice.lines], alice.version) == (["B"], 2)
    bob = await carts.view_cart(uow, pricer, "bob", default_currency="EUR")
    assert [x.sku for x in bob.lines] == ["A"]


async def test_without_a_cart_version_what_the_buyer_added_since_the_order_stays(
        uow: FakeUnitOfWork, pricer: Pricer) -> None:
    # an older order (no cart version): ordered A x2 and B x1; before the confirmation the
    # buyer raised A to 5 and B to 3
    await replace(uow, pricer, ("A", 5), ("B", 3), ("KIT-2", 1))
    async with uow() as repo:  # the same SKU on two lines of the order counts as their sum
        assert await carts.remove_ordered_lines(repo, "alice", [("A", 1), ("B", 1), ("A", 1)],
                                                NOW) == 2
    cart = await carts.view_cart(uow, pricer, "alice", default_currency="EUR")
    assert [(x.sku, x.quantity) for x in cart.lines] == [("A", 3), ("B", 2), ("KIT-2", 1)]
    async with uow() as repo:  # more ordered than the line holds: the line goes
        assert await carts.remove_ordered_lines(repo, "alice", [("A", 4)], NOW) == 1
    cart = await carts.view_cart(uow, pricer, "alice", default_currency="EUR")
    assert [(x.sku, x.quantity) for x in cart.lines] == [("B", 2), ("KIT-2", 1)]


async def confirm(uow: FakeUnitOfWork, cart_version: int, *lines: tuple[str, int]) -> int:
    async with uow() as repo:
        return await carts.remove_ordered_lines(repo, "alice", lines, NOW,
                                                cart_version=cart_version)


async def test_a_line_set_again_after_the_order_stays_even_at_the_same_quantity(
        uow: FakeUnitOfWork, pricer: Pricer) -> None:
    await carts.set_item(uow, pricer, "alice", "A", 1, NOW)  # version 1: the order takes A x1
    await carts.set_item(uow, pricer, "alice", "A", 1, NOW)  # version 2: again, for the next
    assert await confirm(uow, 1, ("A", 1)) == 0
    cart = await carts.view_cart(uow, pricer, "alice", default_currency="EUR")
    assert ([(x.sku, x.quantity) for x in cart.lines], cart.version) == ([("A", 1)], 2)


async def test_the_lines_not_set_since_the_order_go_whole_and_the_rest_stay(
        uow: FakeUnitOfWork, pricer: Pricer) -> None:
    await carts.set_item(uow, pricer, "alice", "A", 2, NOW)
    await carts.set_item(uow, pricer, "alice", "B", 1, NOW)
    await carts.set_item(uow, pricer, "alice", "KIT-1", 1, NOW)  # version 3: the order's
    await carts.set_item(uow, pricer, "alice", "B", 3, NOW)  # set since: stays
    await carts.remove_item(uow, "alice", "KIT-1", NOW)  # removed and added again: stays
    await carts.set_item(uow, pricer, "alice", "KIT-1", 1, NOW)
    await carts.set_item(uow, pricer, "alice", "KIT-2", 1, NOW)  # not ordered: stays
    assert await confirm(uow, 3, ("A", 2), ("B", 1), ("KIT-1", 1)) == 1
    cart = await carts.view_cart(uow, pricer, "alice", default_currency="EUR")
    assert [(x.sku, x.quantity) for x in cart.lines] == [("B", 3), ("KIT-1", 1), ("KIT-2", 1)]
    assert cart.version == 8  # seven changes and the confirmation's


async def test_a_whole_cart_replacement_after_the_order_keeps_its_lines(
        uow: FakeUnitOfWork, pricer: Pricer) -> None:
    await replace(uow, pricer, ("A", 1), ("B", 1))  # version 1: the order's
    await replace(uow, pricer, ("A", 1))  # version 2
    assert await confirm(uow, 1, ("A", 1), ("B", 1)) == 0
    cart = await carts.view_cart(uow, pricer, "alice", default_currency="EUR")
    assert ([x.sku for x in cart.lines], cart.version) == (["A"], 2)
    assert await confirm(uow, 2, ("A", 1)) == 1  # the next order's confirmation takes it
    cart = await carts.view_cart(uow, pricer, "alice", default_currency="EUR")
    assert (cart.lines, cart.version) == ((), 3)


async def test_a_line_whose_last_change_is_not_known_loses_the_ordered_quantity(
        uow: FakeUnitOfWork, pricer: Pricer) -> None:
    uow.state.lines["alice"] = [CartLine("A", 3), CartLine("B", 1)]  # set before lines had one
    uow.state.versions["alice"] = 4
    assert await confirm(uow, 4, ("A", 1), ("B", 1)) == 2
    cart = await carts.view_cart(uow, pricer, "alice", default_currency="EUR")
    assert ([(x.sku, x.quantity) for x in cart.lines], cart.version) == ([("A", 2)], 5)
