"""The mailbox rules (service/mailbox.py): one message per order and kind, at most one terminal
message per order, own messages only, newest first, paged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from notifications.domain.messages import Kind, OrderOutcome
from notifications.service import mailbox

from .conftest import InMemoryMailbox

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def outcome(kind: Kind = Kind.ORDER_CONFIRMED, order_id: str = "o-1",
            user_id: str = "u-1") -> OrderOutcome:
    return OrderOutcome(kind, order_id, user_id, item_count=2, total_minor=2490, currency="EUR",
                        reason="payment declined" if kind is Kind.ORDER_CANCELLED else "")


async def test_a_confirmation_puts_one_message_in_the_customers_mailbox(
        box: InMemoryMailbox) -> None:
    assert await mailbox.notify(box, outcome(), NOW) is True
    (message,) = box.messages.values()
    assert (message.user_id, message.order_id, message.kind) == ("u-1", "o-1",
                                                                 Kind.ORDER_CONFIRMED)
    assert "24.90 EUR" in message.body and message.created_at == NOW


async def test_the_same_event_twice_adds_one_message(box: InMemoryMailbox) -> None:
    assert await mailbox.notify(box, outcome(), NOW) is True
    assert await mailbox.notify(box, outcome(), NOW) is False
    assert len(box.messages) == 1


@pytest.mark.parametrize("first", [Kind.ORDER_CONFIRMED, Kind.ORDER_CANCELLED])
async def test_an_order_gets_at_most_one_terminal_message(box: InMemoryMailbox,
                                                          first: Kind) -> None:
    second = Kind.ORDER_CANCELLED if first is Kind.ORDER_CONFIRMED else Kind.ORDER_CONFIRMED
    await mailbox.notify(box, outcome(first), NOW)
    assert await mailbox.notify(box, outcome(second), NOW) is False
    assert [m.kind for m in box.messages.values()] == [first]


async def test_a_mailbox_lists_only_its_owners_messages_newest_first_in_pages(
        box: InMemoryMailbox) -> None:
    for n in range(5):
        await mailbox.notify(box, outcome(order_id=f"o-{n}"), NOW)
    await mailbox.notify(box, outcome(order_id="theirs", user_id="u-2"), NOW)
    first = await mailbox.list_mailbox(box, "u-1", limit=2)
    assert [m.order_id for m in first.items] == ["o-4", "o-3"] and first.more
    second = await mailbox.list_mailbox(box, "u-1", limit=2, before_id=first.items[-1].id)
    third = await mailbox.list_mailbox(box, "u-1", limit=2, before_id=second.items[-1].id)
    assert [m.order_id for m in second.items + third.items] == ["o-2", "o-1", "o-0"]
    assert second.more and not third.more
    assert [m.order_id for m in (await mailbox.list_mailbox(box, "u-2")).items] == ["theirs"]


async def test_a_full_last_page_says_nothing_more_follows(box: InMemoryMailbox) -> None:
    for n in range(2):
        await mailbox.notify(box, outcome(order_id=f"o-{n}"), NOW)
    page = await mailbox.list_mailbox(box, "u-1", limit=2)
    assert len(page.items) == 2 and not page.more
    assert box.transactions == 1  # one read: the extra row tells `more`, no second query


async def test_the_admin_listing_pages_by_order_id(box: InMemoryMailbox) -> None:
    for order_id in ("c", "a", "b"):
        await mailbox.notify(box, outcome(order_id=order_id), NOW)
    page = await mailbox.list_by_order(box, limit=2)
    assert [o.order_id for o in page.items] == ["a", "b"] and page.more
    rest = await mailbox.list_by_order(box, after="b", limit=2)
    assert [(o.order_id, o.kinds) for o in rest.items] == [("c", (Kind.ORDER_CONFIRMED,))]
    assert not rest.more


@pytest.mark.parametrize("limit", [0, 101])
async def test_a_limit_out_of_range_is_refused(box: InMemoryMailbox, limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        await mailbox.list_mailbox(box, "u-1", limit=limit)


@pytest.mark.parametrize("limit", [0, 1001])
async def test_an_admin_limit_out_of_range_is_refused(box: InMemoryMailbox, limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        await mailbox.list_by_order(box, limit=limit)
