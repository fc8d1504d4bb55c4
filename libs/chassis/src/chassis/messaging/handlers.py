"""Message handlers, registered by contract type — one handler per message type, named so a
reader can grep it::

    handlers = MessageHandlers()

    @handlers.on(ReserveStock)
    async def on_reserve_stock(command: ReserveStock, tx: MessageTx, meta: Incoming,
                               settings: InventorySettings) -> None:
        ...

A handler takes the message (annotated with its contract), and whichever of these it needs: the
batch's :class:`~chassis.messaging.tx.MessageTx` (its effects and its replies commit together,
with the inbox row), the :class:`~chassis.messaging.envelope.Incoming` envelope, and service
objects the app was given with ``app.provide(obj)`` (looked up by type, like HTTP handlers).
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

from chassis.messaging.envelope import Incoming
from chassis.messaging.tx import MessageTx
from chassis.web.params import type_hints
from contracts import Message

__all__ = ["Bound", "MessageHandlers"]

Bound = Callable[[MessageTx, Any, Incoming], Awaitable[None]]
_HandlerFn = Callable[..., Awaitable[None]]


class MessageHandlers:
    """The handlers of one service (a service may keep several of these and merge them)."""

    def __init__(self) -> None:
        self._handlers: dict[type[Message], _HandlerFn] = {}
        self.retired: set[str] = set()

    def retire(self, type_name: str) -> None:
        """Stop handling messages of wire type ``type_name`` on purpose: they are acked unapplied
        and the type leaves the durable consumer's filter. Without this, a type an instance has
        no handler for is left for an instance that has one (never acked here), and the filter
        never loses a type (an instance of an older version may still handle it)."""
        if any(type_name == contract.TYPE for contract in self._handlers):
            raise ValueError(f"{type_name} has a handler; it cannot be retired")
        self.retired.add(type_name)

    def on(self, contract: type[Message]) -> Callable[[_HandlerFn], _HandlerFn]:
        if not contract.TYPE:
            raise TypeError(f"{contract.__name__} has no wire name")

        def register(handler: _HandlerFn) -> _HandlerFn:
            if contract.TYPE in self.retired:
                raise ValueError(f"{contract.TYPE} is retired; it cannot have a handler")
            if contract in self._handlers:
                raise ValueError(f"{contract.TYPE} already has a handler: "
                                 f"{self._handlers[contract].__qualname__}")
            _plan(handler, contract)  # fail at import, not at the first message
            self._handlers[contract] = handler
            return handler

        return register

    def __iter__(self) -> Iterator[type[Message]]:
        return iter(self._handlers)

    def __len__(self) -> int:
        return len(self._handlers)

    def merge(self, other: MessageHandlers) -> None:
        for contract, handler in other._handlers.items():
            self.on(contract)(handler)
        for type_name in other.retired:
            self.retire(type_name)

    def bind(self, providers: Mapping[type, Any]) -> dict[type[Message], Bound]:
        """Each handler as ``(tx, message, incoming)`` with its service objects filled in."""
        return {contract: _bound(handler, contract, providers)
                for contract, handler in self._handlers.items()}


def _plan(handler: _HandlerFn, contract: type[Message]) -> list[tuple[str, Any]]:
    hints = type_hints(handler)
    plan: list[tuple[str, Any]] = []
    for name in inspect.signature(handler).parameters:
        hint = hints.get(name)
        if hint is None:
            raise TypeError(f"{handler.__qualname__}: parameter {name!r} has no annotation")
        if hint is MessageTx:
            plan.append((name, "tx"))
        elif hint is Incoming:
            plan.append((name, "incoming"))
        elif isinstance(hint, type) and issubclass(contract, hint) and issubclass(hint, Message):
            plan.append((name, "message"))
        elif isinstance(hint, type):
            plan.append((name, hint))
        else:  # a union of contracts (one function for several events)
            if contract in typing.get_args(hint):
                plan.append((name, "message"))
            else:
                raise TypeError(f"{handler.__qualname__}: cannot fill {name!r} ({hint!r})")
    if not any(kind == "message" for _, kind in plan):
        raise TypeError(f"{handler.__qualname__} takes no {contract.__name__} parameter")
    return plan


def _bound(handler: _HandlerFn, contract: type[Message],
           providers: Mapping[type, Any]) -> Bound:
    plan = _plan(handler, contract)
    fixed: dict[str, Any] = {}
    for name, kind in plan:
        if isinstance(kind, type):
            if kind not in providers:
                raise RuntimeError(f"{handler.__qualname__} needs a {kind.__name__}: "
                                   "nothing provided one")
            fixed[name] = providers[kind]
    tx_name = next((n for n, k in plan if k == "tx"), None)
    incoming_name = next((n for n, k in plan if k == "incoming"), None)
    message_name = next(n for n, k in plan if k == "message")

    async def call(tx: MessageTx, message: Any, incoming: Incoming) -> None:
        kwargs = dict(fixed)
        kwargs[message_name] = message
        if tx_name is not None:
            kwargs[tx_name] = tx
        if incoming_name is not None:
            kwargs[incoming_name] = incoming
        await handler(**kwargs)

    call.__qualname__ = handler.__qualname__
    return call
