"""Domain errors. They know nothing of HTTP: ``telemetry.app`` maps them to problem+json."""

from __future__ import annotations

__all__ = ["InvalidExport", "InvalidTraceId", "TelemetryError", "TraceNotFound"]


class TelemetryError(Exception):
    """Base of every error telemetry raises on purpose."""


class InvalidExport(TelemetryError):
    """An OTLP export request body that cannot be decoded."""


class InvalidTraceId(TelemetryError):
    """A trace id that is not 32 hexadecimal digits (or is all zeros)."""


class TraceNotFound(TelemetryError):
    """No stored trace has this id (never received, or pruned)."""
