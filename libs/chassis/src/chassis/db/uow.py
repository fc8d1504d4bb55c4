"""The unit of work, generic: one transaction, seen through the service's own repository.

A service declares the repository its use cases need (a Protocol in ``service/ports.py``) and
binds it to a transaction once, in its composition root::

    uow = SqlUnitOfWork(runtime.transaction, SqlOrdersTx)     # adapters: SqlOrdersTx(tx)
    async with uow() as orders:                               # one transaction
        order = await orders.load(order_id)

``runtime.transaction`` is the messaging transaction when the service publishes (its outbox rides
in the same transaction), else the plain database one. Unit tests pass a fake with the same call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["SqlUnitOfWork", "UnitOfWork"]

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class UnitOfWork(Protocol[R_co]):
    """``async with uow() as repo:`` — everything done through ``repo`` commits together."""

    def __call__(self, *, readonly: bool = False) -> AbstractAsyncContextManager[R_co]: ...


class SqlUnitOfWork(Generic[R]):
    """A :class:`UnitOfWork` over a transaction factory and a repository binder."""

    def __init__(self, begin: Callable[..., AbstractAsyncContextManager[Any]],
                 bind: Callable[[Any], R]) -> None:
        self._begin = begin
        self._bind = bind

    @asynccontextmanager
    async def __call__(self, *, readonly: bool = False) -> AsyncIterator[R]:
        async with self._begin(readonly=readonly) as tx:
            yield self._bind(tx)
