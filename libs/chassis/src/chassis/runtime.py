"""The resources a running service holds, built in its lifespan and torn down in reverse."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from prometheus_client import CollectorRegistry

from chassis.background import Background
from chassis.db import Database
from chassis.discovery import Discovery, Registration
from chassis.fault_rules import ActiveFaults
from chassis.faults import FaultPoints
from chassis.health import HealthChecks
from chassis.metrics import HttpMetrics
from chassis.settings import ServiceSettings
from chassis.tracing import NO_TRACING, Tracing

if TYPE_CHECKING:
    import aiohttp

    from chassis.auth import ServiceTokenClient, TokenVerifier
    from chassis.broker import Broker
    from chassis.http import ClientPolicy, Directory, ServiceClient
    from chassis.http.h1 import H1Transport
    from chassis.live import Live, LiveSettings
    from chassis.messaging import Messaging

__all__ = ["Runtime"]

L = TypeVar("L", bound="LiveSettings")


@dataclass
class Runtime:
    """Everything the chassis started for a service; handlers get it (or parts of it) through
    ``app.provide``."""

    settings: ServiceSettings
    metrics_registry: CollectorRegistry
    http_metrics: HttpMetrics
    health: HealthChecks
    db: Database | None = None
    broker: Broker | None = None
    discovery: Discovery | None = None
    registration: Registration | None = None
    http: aiohttp.ClientSession | None = None
    verifier: TokenVerifier | None = None
    service_tokens: ServiceTokenClient | None = None
    messaging: Messaging | None = None
    faults: FaultPoints = field(default_factory=lambda: FaultPoints(None))
    active_faults: ActiveFaults = field(default_factory=ActiveFaults)  # switched on live
    live: Live[Any] | None = None  # the live settings (chassis.live), from start-up
    tracing: Tracing = NO_TRACING
    background: Background = field(default_factory=Background)
    _client: ServiceClient | None = None
    _transport: H1Transport | None = None

    def require_messaging(self) -> Messaging:
        if self.messaging is None:
            raise RuntimeError(f"{self.settings.service_name} has no messaging configured")
        return self.messaging

    def live_settings(self, kind: type[L]) -> Live[L]:
        """The live settings, as the ``kind`` the service gave ``create_service_app``."""
        if self.live is None or not isinstance(self.live.current, kind):
            raise RuntimeError(f"{self.settings.service_name} has no live settings of type "
                               f"{kind.__name__} (create_service_app(live=...))")
        return self.live

    def require_db(self) -> Database:
        if self.db is None:
            raise RuntimeError(f"{self.settings.service_name} has no database configured")
        return self.db

    @property
    def transaction(self) -> Callable[..., AbstractAsyncContextManager[Any]]:
        """The unit-of-work factory: with messaging its transactions carry the outbox."""
        if self.messaging is not None:
            return self.messaging.transaction
        return self.require_db().transaction

    def service_client(self, *, policy: ClientPolicy | None = None,
                       urls: Mapping[str, str] | None = None) -> ServiceClient:
        """The one client for calls to other services (discovery, deadlines, retries within a
        budget, a breaker and a bulkhead per upstream, this service's token on every call).

        The first call builds it: ``policy`` sets its timeouts, retries and limits (the
        :class:`~chassis.http.ClientPolicy` defaults otherwise); ``urls`` gives fixed base URLs
        by service name (a Kubernetes Service, a test's server; empty values are ignored) over
        the settings' ``upstream_urls``, the other upstreams are found through discovery. Later
        calls return the same client."""
        given = {name: url for name, url in (urls or {}).items() if url}
        fixed = self.settings.fixed_upstreams() | given
        if self._client is not None:
            if policy is not None or given:
                raise RuntimeError("the service client is already built: give its policy and "
                                   "URLs to the first service_client() call")
            return self._client
        from chassis.http import ServiceClient, StaticDirectory
        from chassis.http.h1 import H1Transport

        directory: Directory | None = self.discovery
        if fixed:
            directory = StaticDirectory(fixed, fallback=self.discovery)
        if directory is None:
            raise RuntimeError(f"{self.settings.service_name} calls other services and so needs "
                               "a registry URL or fixed upstream URLs")
        # our own HTTP/1.1 pool (chassis.http.h1): a call costs about a third of aiohttp's CPU
        self._transport = H1Transport()
        self._client = ServiceClient(
            self._transport, directory, service=self.settings.service_name,
            tokens=self.service_tokens, registry=self.metrics_registry, policy=policy,
            tracing=self.tracing)
        if self.live is not None:
            from chassis.live.wiring import bind_client

            bind_client(self.live, self._client)
        return self._client

    async def close_client(self) -> None:
        """Close the service client's pooled connections (at shutdown)."""
        if self._transport is not None:
            await self._transport.close()
