from __future__ import annotations

from datetime import timedelta

import pytest

from catalog.domain.errors import InvalidMoney, ProductNotFound, SkuTaken, UnknownCategory
from catalog.domain.money import Money
from catalog.service import commands

from ...factories import T0, make_category
from .conftest import InMemoryCatalog

pytestmark = pytest.mark.unit

KETTLE = commands.NewProduct(sku="KIT-0999", name="Kettle", description="", category="kitchen",
                             price=Money(4900, "EUR"))


def catalog() -> InMemoryCatalog:
    return InMemoryCatalog().add(make_category("kitchen"), make_category("books"))


async def test_a_created_product_gets_a_time_ordered_id_and_timestamps() -> None:
    uow = catalog()
    product = await commands.create_product(uow, KETTLE, T0)
    assert uow.products[product.id] == product
    assert product.created_at == product.updated_at == T0


async def test_skus_are_unique_and_categories_must_exist() -> None:
    uow = catalog()
    await commands.create_product(uow, KETTLE, T0)
    with pytest.raises(SkuTaken):
        await commands.create_product(uow, KETTLE, T0)
    with pytest.raises(UnknownCategory):
        await commands.create_product(
            uow, commands.NewProduct("KIT-1000", "Pot", "", Money(1, "EUR"), "garden"), T0)


async def test_revising_changes_only_what_is_given() -> None:
    uow = catalog()
    product = await commands.create_product(uow, KETTLE, T0)
    later = T0 + timedelta(minutes=5)
    revised = await commands.revise_product(
        uow, product.id, commands.ProductChanges(price=Money(3900, "EUR"), category="books"), later)
    assert (revised.name, revised.price, revised.category) == ("Kettle", Money(3900, "EUR"), "books")
    assert revised.updated_at == later and revised.created_at == T0
    with pytest.raises(UnknownCategory):
        await commands.revise_product(uow, product.id, commands.ProductChanges(category="x"), later)


async def test_a_retired_product_can_be_neither_revised_nor_retired_again() -> None:
    uow = catalog()
    product = await commands.create_product(uow, KETTLE, T0)
    await commands.retire_product(uow, product.id, T0)
    assert uow.products[product.id].retired_at == T0
    with pytest.raises(ProductNotFound):
        await commands.retire_product(uow, product.id, T0)
    with pytest.raises(ProductNotFound):
        await commands.revise_product(uow, product.id, commands.ProductChanges(name="n"), T0)


def test_money_rules_still_hold_for_new_prices() -> None:
    with pytest.raises(InvalidMoney):
        Money(-1, "EUR")
