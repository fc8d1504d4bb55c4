"""How many long polls (``Prefer: wait``) and status streams one user holds at once, and how
many of each all users hold together.

Each one keeps a task and a watch on its order in this process until it ends, so without a
bound one user could hold hundreds of them. Past ``per_user`` the next is refused (429 with
``Retry-After`` at the edge) until one of theirs ends. Past ``total`` long polls in all, a new
one is not a wait at all: ``Prefer`` is a preference, and the order is answered at once (RFC
7240). Past ``streams`` status streams in all, a new one is refused (429 with ``Retry-After``):
many accounts each below their own bound could otherwise hold this process's memory and tasks
without end. A wait holds no work, so it is not counted by the service's admission bound
(``Request.waiting``): these bounds are its only ones. Counted per process: with N instances of
orders a user may hold up to N times as many.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["AllStreamsTaken", "AllWaitsTaken", "TooManyWaits", "WaitSlots"]


class TooManyWaits(Exception):
    """The user already holds as many long polls and status streams as allowed."""


class AllWaitsTaken(Exception):
    """This instance holds as many long polls as it allows, all users together."""


class AllStreamsTaken(Exception):
    """This instance holds as many status streams as it allows, all users together."""


class WaitSlots:
    def __init__(self, per_user: int, *, total: int = 2000, streams: int = 2000) -> None:
        self.per_user = per_user
        self.total = total
        self.max_streams = streams
        self.polls = 0  # long polls held, all users
        self.streams = 0  # status streams held, all users
        self._held: dict[str, int] = {}

    def take(self, user_id: str, *, poll: bool = False) -> Callable[[], None]:
        """One of ``user_id``'s slots, or :class:`TooManyWaits`; and one of all users' long polls
        (``poll``, else :class:`AllWaitsTaken`) or status streams (else
        :class:`AllStreamsTaken`). Call the returned release when the wait ends (once counts;
        later calls do nothing)."""
        held = self._held.get(user_id, 0)
        if held >= self.per_user:
            raise TooManyWaits(f"at most {self.per_user} long polls and status streams at once")
        if poll and self.polls >= self.total:
            raise AllWaitsTaken(f"{self.total} long polls held")
        if not poll and self.streams >= self.max_streams:
            raise AllStreamsTaken(f"this instance holds its {self.max_streams} status streams; "
                                  "try again shortly, or read the order (GET /v1/orders/{id})")
        self._held[user_id] = held + 1
        self.polls += poll
        self.streams += not poll
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self.polls -= poll
            self.streams -= not poll
            left = self._held[user_id] - 1
            if left:
                self._held[user_id] = left
            else:
                del self._held[user_id]

        return release

    def held(self, user_id: str) -> int:
        return self._held.get(user_id, 0)
