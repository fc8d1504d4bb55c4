"""Wait slots per user: a bounded number each, freed once per release."""

from __future__ import annotations

import pytest

from orders.service.waits import AllStreamsTaken, AllWaitsTaken, TooManyWaits, WaitSlots

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


def test_long_polls_are_bounded_in_all_apart_from_streams() -> None:
    slots = WaitSlots(per_user=5, total=2)
    first = slots.take("u1", poll=True)
    slots.take("u2", poll=True)
    with pytest.raises(AllWaitsTaken):
        slots.take("u3", poll=True)
    slots.take("u3")  # a status stream is not a long poll: bounded apart
    first()
    first()
    assert slots.polls == 1
    slots.take("u3", poll=True)
    assert slots.polls == 2 and slots.held("u3") == 2


def test_status_streams_are_bounded_in_all_apart_from_long_polls() -> None:
    slots = WaitSlots(per_user=5, total=10, streams=2)
    first = slots.take("u1")
    slots.take("u2")
    with pytest.raises(AllStreamsTaken):  # many users, each below their own bound
        slots.take("u3")
    assert slots.held("u3") == 0  # refused: nothing held
    slots.take("u3", poll=True)  # a long poll is bounded apart
    first()
    first()
    assert slots.streams == 1
    slots.take("u3")
    assert (slots.streams, slots.polls, slots.held("u3")) == (2, 1, 2)
