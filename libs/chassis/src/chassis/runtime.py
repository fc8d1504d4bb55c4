"""The resources a running service holds, built in its lifespan and torn down in reverse."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry

from chassis.db import Database
from chassis.discovery import Discovery, Registration
from chassis.faults import FaultPoints
from chassis.health import HealthChecks
from chassis.metrics import HttpMetrics
from chassis.settings import ServiceSettings
from chassis.tracing import NO_TRACING, Tracing

if TYPE_CHECKING:
    import aiohttp

    from chassis.auth import ServiceTokenClient, TokenVerifier
    from chassis.broker import Broker
    from chassis.messaging import Messaging

__all__ = ["Runtime"]


@dataclass
class Runtime:
    """Everything a service's handlers may need, reachable from ``request.app.state.runtime``."""

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
    tracing: Tracing = NO_TRACING
    extras: dict[str, object] = field(default_factory=dict)

    def require_messaging(self) -> Messaging:
        if self.messaging is None:
            raise RuntimeError(f"{self.settings.service_name} has no messaging configured")
        return self.messaging

    def require_db(self) -> Database:
        if self.db is None:
            raise RuntimeError(f"{self.settings.service_name} has no database configured")
        return self.db
