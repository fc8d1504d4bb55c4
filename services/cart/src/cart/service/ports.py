"""What the cart's use cases need from the outside world: storage and a price source.
``cart.adapters`` implements both; the unit tests use in-memory fakes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from cart.domain.cart import Cart, CartLine
from cart.domain.pricing import Price
from chassis.db import UnitOfWork

__all__ = ["ADD_KEYS_KEPT", "CartRepository", "CartUnitOfWork", "PriceLookup", "PriceSource",
           "PriceSourceUnavailable"]

# how long an add's Idempotency-Key is remembered (a form resent later than that adds again)
ADD_KEYS_KEPT = timedelta(days=1)


class CartRepository(Protocol):
    """Carts, seen from inside one transaction."""

    async def get(self, user_id: str) -> Cart:
        """The cart (empty, version 0, when the user has none yet)."""
        ...

    async def lock(self, user_id: str, now: datetime) -> Cart:
        """The cart, with its version bumped and its row locked until the transaction ends: the
        way every change starts, so two changes to one cart queue up."""
        ...

    async def touch(self, user_id: str, now: datetime) -> int:
        """Bump the version and lock the row as ``lock`` does, without reading the lines (a
        statement less); the new version."""
        ...

    async def replace(self, user_id: str, lines: Sequence[CartLine], now: datetime) -> Cart:
        """Lock the cart (as ``lock``) and make it hold exactly ``lines``, each recording the new
        version as its own; the cart as it is now, its lines in the order a read gives them."""
        ...

    async def set_quantity(self, user_id: str, sku: str, quantity: int, now: datetime,
                           version: int) -> None:
        """Set the line (adding it when absent), recording ``version`` (the cart's, as ``lock``
        bumped it) as the line's."""
        ...

    async def remove(self, user_id: str, skus: Iterable[str]) -> int:
        """Remove these lines; how many there were."""
        ...

    async def remove_unchanged(self, user_id: str, skus: Sequence[str], version: int) -> int:
        """Remove the lines of these SKUs that the buyer last set at or before ``version`` (a
        line set later stays); how many went. Called with the cart locked (``touch``)."""
        ...

    async def take(self, user_id: str, sku: str, quantity: int) -> int:
        """Take ``quantity`` off the line of ``sku`` (the line goes when it held no more); 1 when
        there was a line, 0 when there was none. Called with the cart locked (``touch``)."""
        ...

    async def clear(self, user_id: str) -> int: ...

    async def claim_add_key(self, user_id: str, key: str, request: str,
                            now: datetime) -> str | None:
        """Record ``key`` as one of the user's adds, made for ``request``; None when it is new,
        else the request it was recorded for ("" for a key recorded before requests were). The
        first statement of the add's transaction: an add of the same key at the same time waits
        for this one to end. The user's keys older than ``ADD_KEYS_KEPT`` go."""
        ...


CartUnitOfWork = UnitOfWork[CartRepository]


@dataclass(frozen=True, slots=True)
class PriceLookup:
    prices: dict[str, Price]
    missing: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # the products' names, by SKU


class PriceSourceUnavailable(Exception):
    """The price source could not answer (down, breaker open, too slow, overloaded)."""


class PriceSource(Protocol):
    async def look_up(self, skus: Sequence[str], *, deadline: float | None = None) -> PriceLookup:
        """Current prices; raises :class:`PriceSourceUnavailable`. ``deadline``: Unix seconds."""
        ...
