"""How many long polls (``Prefer: wait``) and status streams one user holds at once.

Each one keeps a task and a watch on its order in this process until it ends, so without a
bound one user could hold hundreds of them. Past ``per_user`` the next is refused (429 with
``Retry-After`` at the edge) until one of theirs ends. Counted per process: with N instances of
orders a user may hold up to N times as many.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["TooManyWaits", "WaitSlots"]


class TooManyWaits(Exception):
    """The user already holds as many long polls and status streams as allowed."""


class WaitSlots:
    def __init__(self, per_user: int) -> None:
        self.per_user = per_user
        self._held: dict[str, int] = {}

    def take(self, user_id: str) -> Callable[[], None]:
        """One of ``user_id``'s slots, or :class:`TooManyWaits`; call the returned release when
        the wait ends (once counts; later calls do nothing)."""
        held = self._held.get(user_id, 0)
        if held >= self.per_user:
            raise TooManyWaits(f"at most {self.per_user} long polls and status streams at once")
        self._held[user_id] = held + 1
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            left = self._held[user_id] - 1
            if left:
                self._held[user_id] = left
            else:
                del self._held[user_id]

        return release

    def held(self, user_id: str) -> int:
        return self._held.get(user_id, 0)
