"""The gateway's circuit breaker is the chassis one (:mod:`chassis.http.breaker`): one
implementation for the edge and for service-to-service calls."""

from chassis.http.breaker import BreakerState, CircuitBreaker

__all__ = ["BreakerState", "CircuitBreaker"]
