"""What a service-to-service call can fail with: one exception type per way of failing.

Every one is a :class:`ServiceCallError` naming the ``upstream`` service, so a caller that only
wants "the call did not work" catches that, and one that serves a fallback can tell a broken
upstream (:class:`UpstreamUnavailable` and its kinds) from an answer it did not like
(:class:`UpstreamError`, a non-2xx status with its problem document).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["PROXY_STATUS", "BulkheadFull", "CircuitOpen", "NoHealthyInstance", "ServiceCallError",
           "UpstreamError", "UpstreamTimeout", "UpstreamUnavailable", "dependency_failure",
           "for_another", "proxy_status"]

# RFC 9209: an answer made because a service further on failed. Its caller (the gateway, another
# service's client) then knows the service that answered is healthy: no failure for its breaker,
# no ejection, no retry — else one service's outage opens the breakers of every service that
# depends on it, and their calls that need nothing of it fail too.
PROXY_STATUS = "Proxy-Status"


class ServiceCallError(Exception):
    """A call to ``upstream`` did not produce a 2xx answer."""

    def __init__(self, upstream: str, detail: str) -> None:
        super().__init__(f"{upstream}: {detail}")
        self.upstream = upstream
        self.detail = detail


class UpstreamUnavailable(ServiceCallError):
    """The upstream could not be reached or gave no usable answer (refused, reset, 5xx after the
    retries allowed); a fallback is in order."""


class NoHealthyInstance(UpstreamUnavailable):
    """Discovery knows no healthy instance of the upstream."""


class UpstreamTimeout(UpstreamUnavailable):
    """No answer within the attempt timeout or the overall deadline."""


class CircuitOpen(UpstreamUnavailable):
    """The upstream's breaker is open: the call was refused without being sent."""

    def __init__(self, upstream: str, retry_after: float) -> None:
        super().__init__(upstream, f"circuit open; retry in {retry_after:.1f}s")
        self.retry_after = retry_after


class BulkheadFull(UpstreamUnavailable):
    """This process already has the maximum of calls in flight to the upstream."""

    def __init__(self, upstream: str, limit: int) -> None:
        super().__init__(upstream, f"{limit} calls already in flight")
        self.limit = limit


class UpstreamError(ServiceCallError):
    """The upstream answered with a non-2xx status; ``problem`` is its problem+json document
    (or ``{}`` when the body was not one)."""

    def __init__(self, upstream: str, status: int, problem: Mapping[str, Any]) -> None:
        detail = str(problem.get("detail") or problem.get("title") or "")
        super().__init__(upstream, f"answered {status}" + (f": {detail}" if detail else ""))
        self.status = status
        self.problem = dict(problem)


def dependency_failure(exc: BaseException) -> ServiceCallError | None:
    """The failed call to another service that ``exc`` stands for (``exc`` itself, or in its
    chain of causes), if any."""
    current: BaseException | None = exc
    for _ in range(8):  # chains are short; a cycle must not hang an error path
        if current is None:
            return None
        if isinstance(current, ServiceCallError):
            return current
        current = current.__cause__ or current.__context__
    return None


def proxy_status(service: str, failure: ServiceCallError | None = None) -> str:
    """The ``Proxy-Status`` value of an answer ``service`` gives because ``failure`` happened."""
    if failure is None:
        return f"{service}; error=destination_unavailable"
    error = ("http_response_timeout" if isinstance(failure, UpstreamTimeout)
             else "destination_unavailable")
    return f'{service}; error={error}; next-hop="{failure.upstream}"'


def for_another(status: int, headers: Mapping[str, str]) -> bool:
    """Whether a 5xx answer says a service further on failed (``Proxy-Status``)."""
    return status >= 500 and ("proxy-status" in headers or PROXY_STATUS in headers)
