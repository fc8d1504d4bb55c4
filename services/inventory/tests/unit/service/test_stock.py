"""Stock look-ups, restocks and listings (service/stock.py), against in-memory fakes."""

from __future__ import annotations

import pytest

from inventory.domain.errors import InvalidQuantity, InvalidSku, UnknownSku
from inventory.service import stock

from .conftest import InMemoryInventory

pytestmark = pytest.mark.unit


async def test_an_unknown_or_malformed_sku_has_no_stock() -> None:
    inv = InMemoryInventory({"A-1": 3})
    assert (await stock.get_stock(inv, "A-1")).available == 3
    for sku in ("B-1", "a-1", "x" * 100):
        with pytest.raises(UnknownSku):
            await stock.get_stock(inv, sku)


async def test_restock_creates_a_missing_row_and_adds_to_initial_and_available() -> None:
    inv = InMemoryInventory({"A-1": 3})
    new = await stock.restock(inv, "N-1", 5)
    assert (new.initial, new.available) == (5, 5)
    more = await stock.restock(inv, "A-1", 7)
    assert (more.initial, more.available, more.reserved, more.sold) == (10, 10, 0, 0)


@pytest.mark.parametrize("quantity", [0, -1, 1_000_001])
async def test_restock_refuses_quantities_out_of_range(quantity: int) -> None:
    with pytest.raises(InvalidQuantity):
        await stock.restock(InMemoryInventory(), "A-1", quantity)


async def test_restock_refuses_a_malformed_sku() -> None:
    with pytest.raises(InvalidSku):
        await stock.restock(InMemoryInventory(), "not a sku", 1)


async def test_stock_pages_by_sku_saying_whether_another_page_follows() -> None:
    inv = InMemoryInventory({f"S-{i}": 1 for i in range(5)})
    first = await stock.list_stock(inv, None, 2)
    assert [s.sku for s in first.items] == ["S-0", "S-1"] and first.more
    last = await stock.list_stock(inv, "S-3", 2)
    assert [s.sku for s in last.items] == ["S-4"] and not last.more
    exact = await stock.list_stock(inv, "S-2", 2)
    assert [s.sku for s in exact.items] == ["S-3", "S-4"] and not exact.more
    with pytest.raises(ValueError, match="limit"):
        await stock.list_stock(inv, None, 1001)
