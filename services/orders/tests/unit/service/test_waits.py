"""Wait slots per user: a bounded number each, freed once per release."""

from __future__ import annotations

import pytest

from orders.service.waits import TooManyWaits, WaitSlots

pytestmark = pytest.mark.unit


def test_a_user_holds_at_most_the_bound_and_a_release_frees_one_slot_once() -> None:
    slots = WaitSlots(per_user=2)
    first, _ = slots.take("u1"), slots.take("u1")
    with pytest.raises(TooManyWaits):
        slots.take("u1")
    slots.take("u2")  # another user's slots are their own
    first()
    first()  # a second release of the same slot frees nothing more
    assert slots.held("u1") == 1
    slots.take("u1")
    with pytest.raises(TooManyWaits):
        slots.take("u1")
