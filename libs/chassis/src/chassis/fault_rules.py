"""Faults a user switches on in a running service through its live configuration (issue 11).

These are the shapes of the live settings ``fault_routes``, ``fault_consumers`` and ``clock_skew``
that every service has; ``chassis.live`` carries them, the web layer and the message consumer
apply them. A rule matches one route template (``"GET /v1/stock/{sku}"``, ``"*"`` for all) or one
message type (``"PaymentAuthorized"``, ``"*"``) and adds, each with its own probability: a delay,
an error answer, or a dropped connection (HTTP) / a message left unacknowledged (messages).
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated

import msgspec
from msgspec import Meta

from chassis import clock

__all__ = ["ActiveFaults", "ConsumerFault", "RouteFault"]

Probability = Annotated[float, Meta(ge=0, le=1)]
DelayMs = Annotated[float, Meta(ge=0, le=120_000)]


class RouteFault(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A fault on the HTTP requests a service answers."""

    route: Annotated[str, Meta(min_length=1, description=(
        '"METHOD /template" as in the OpenAPI document, or "*" for every route'))]
    latency_ms: DelayMs = 0.0
    latency_rate: Annotated[Probability, Meta(description="share of requests delayed")] = 1.0
    error_rate: Annotated[Probability, Meta(description="share answered with error_status")] = 0.0
    # a server error: every route documents 5XX; a 4xx would tell the caller its request was
    # wrong, which no route documents as a possible answer to a right one
    error_status: Annotated[int, Meta(ge=500, le=599)] = 503
    drop_rate: Annotated[Probability, Meta(description=(
        "share whose connection is closed without an answer"))] = 0.0


class ConsumerFault(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A fault on the messages a service's consumer handles."""

    type: Annotated[str, Meta(min_length=1, description='a message type, or "*" for every type')]
    latency_ms: DelayMs = 0.0
    latency_rate: Probability = 1.0
    error_rate: Annotated[Probability, Meta(description=(
        "share whose handling fails (counted as a handler failure, redelivered)"))] = 0.0
    drop_rate: Annotated[Probability, Meta(description=(
        "share left unacknowledged without handling (redelivered after the ack wait)"))] = 0.0


class ActiveFaults:
    """The faults switched on in this process now: the live configuration sets them
    (``set_routes``, ``set_consumers``, ``set_clock_skew``), the web layer and the consumer look
    them up per request and per message. With none switched on a lookup is one truth test."""

    def __init__(self) -> None:
        self.routes: dict[str, RouteFault] = {}
        self.consumers: dict[str, ConsumerFault] = {}
        self.clock_skew = 0.0
        self._changed: asyncio.Event | None = None  # made by the first delay, on its loop

    def set_routes(self, rules: tuple[RouteFault, ...] | list[RouteFault]) -> None:
        self.routes = {rule.route: rule for rule in rules}
        self._end_delays()

    def set_consumers(self, rules: tuple[ConsumerFault, ...] | list[ConsumerFault]) -> None:
        self.consumers = {rule.type: rule for rule in rules}
        self._end_delays()

    async def delay(self, seconds: float) -> None:
        """A rule's latency: ``seconds``, or less when the rules change meanwhile (lifting a
        fault of two minutes ends the waits it started; what comes next follows the new
        rules)."""
        if self._changed is None:
            self._changed = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), seconds)

    def _end_delays(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    def set_clock_skew(self, seconds: float) -> None:
        """Skew this process's wall clock (``chassis.clock``) by ``seconds``."""
        self.clock_skew = seconds
        clock.set_skew(seconds)

    def route(self, route: str) -> RouteFault | None:
        """The rule for ``"METHOD /template"``, else the ``"*"`` rule, else None."""
        if not self.routes:
            return None
        return self.routes.get(route) or self.routes.get("*")

    def consumer(self, message_type: str, name: str = "") -> ConsumerFault | None:
        """The rule for a message type by its wire name (``payments.PaymentAuthorized.v1``) or
        its contract's class name ``name`` (``PaymentAuthorized``), else the ``"*"`` rule, else
        None."""
        if not self.consumers:
            return None
        return (self.consumers.get(message_type) or (self.consumers.get(name) if name else None)
                or self.consumers.get("*"))
