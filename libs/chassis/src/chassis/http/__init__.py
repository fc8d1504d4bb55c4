"""Service-to-service HTTP: :class:`ServiceClient` with discovery, deadlines, retries within a
budget, a circuit breaker and a bulkhead per upstream, and the service's identity on every call.

Build one per process, e.g. in a lifespan::

    client = ServiceClient(AiohttpTransport(session), runtime.discovery, service="cart",
                           tokens=runtime.service_tokens, registry=runtime.metrics_registry)
    prices = (await client.post("catalog", "/v1/internal/prices", json=body,
                                idempotent=True)).json()
"""

from chassis.http.breaker import BreakerState, CircuitBreaker
from chassis.http.bulkhead import Bulkhead
from chassis.http.client import (
    ClientPolicy,
    IdentityUnavailable,
    ServiceClient,
    ServiceResponse,
    TokenSource,
)
from chassis.http.deadline import (
    DEADLINE_HEADER,
    current_deadline,
    deadline_from_headers,
    deadline_header_value,
)
from chassis.http.directory import Directory, StaticDirectory
from chassis.http.errors import (
    PROXY_STATUS,
    BulkheadFull,
    CircuitOpen,
    NoHealthyInstance,
    ServiceCallError,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
    dependency_failure,
    for_another,
    proxy_status,
)
from chassis.http.h1 import H1Pool, H1Response, H1Transport
from chassis.http.retry import IDEMPOTENT_METHODS, RETRYABLE_STATUSES, RetryBudget, backoff
from chassis.http.transport import (
    AiohttpTransport,
    ConnectFailed,
    RawResponse,
    SendFailed,
    Transport,
)

__all__ = ["DEADLINE_HEADER", "IDEMPOTENT_METHODS", "PROXY_STATUS", "RETRYABLE_STATUSES",
           "AiohttpTransport",
           "BreakerState", "Bulkhead", "BulkheadFull", "CircuitBreaker", "CircuitOpen",
           "ClientPolicy", "ConnectFailed", "Directory", "H1Pool", "H1Response", "H1Transport",
           "IdentityUnavailable",
           "NoHealthyInstance", "RawResponse", "RetryBudget", "SendFailed", "ServiceCallError",
           "ServiceClient", "ServiceResponse", "StaticDirectory", "TokenSource", "Transport",
           "UpstreamError", "UpstreamTimeout", "UpstreamUnavailable", "backoff",
           "current_deadline", "deadline_from_headers", "deadline_header_value",
           "dependency_failure", "for_another", "proxy_status"]
