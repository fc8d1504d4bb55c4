"""OTLP/JSON spans to ``Span``: the full conversion, run only for the spans of kept traces, long
after the export request was answered — so it never raises on odd values: a value it cannot read
is kept as sent (and stays something the store can write). Also the readers the decoder shares.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from telemetry.domain.spans import KINDS, STATUSES, Span

__all__ = ["MAX_NS", "attributes", "get", "hex_id", "ns", "span_of"]

MAX_NS = (1 << 63) - 1  # times are stored as BIGINT
_KIND_NAMES = {f"SPAN_KIND_{k.upper()}": k for k in KINDS}
_STATUS_NAMES = {f"STATUS_CODE_{s.upper()}": s for s in STATUSES}


def get(obj: dict[str, Any], camel: str, snake: str) -> Any:
    """The field by its OTLP/JSON (lowerCamelCase) name, else by its proto field name."""
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def hex_id(value: Any, size: int) -> str | None:
    """A hex id of ``size`` bytes in lower case; None if it is not one, or is all zeros."""
    if type(value) is not str or len(value) != size * 2:
        return None
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        return None
    # fromhex skips spaces: "ab cd…" decodes to fewer bytes
    return raw.hex() if len(raw) == size and any(raw) else None


def ns(value: Any) -> int:
    """Unix nanoseconds from an integer, a decimal string or a float (0 when absent);
    ValueError, TypeError or OverflowError unless it fits a BIGINT and is not negative."""
    if value is None:
        return 0
    kind = type(value)
    if kind is str or kind is float:
        value = int(value)
    elif kind is not int:
        raise TypeError("not an integer")
    if not 0 <= value <= MAX_NS:
        raise ValueError("out of range")
    return int(value)


def span_of(d: dict[str, Any], trace_id: str, service: str, instance: str) -> Span:
    """The ``Span`` of an OTLP/JSON span object whose ids and times the decoder accepted."""
    status = d.get("status")
    if type(status) is not dict:
        status = {}
    return Span(
        trace_id=trace_id, span_id=str(get(d, "spanId", "span_id")).lower(),
        parent_span_id=hex_id(get(d, "parentSpanId", "parent_span_id"), 8),
        service=service, instance=instance, name=_text(d.get("name")),
        kind=_enum(d.get("kind"), _KIND_NAMES, KINDS),
        start_ns=ns(get(d, "startTimeUnixNano", "start_time_unix_nano")),
        end_ns=ns(get(d, "endTimeUnixNano", "end_time_unix_nano")),
        status=_enum(status.get("code"), _STATUS_NAMES, STATUSES),
        status_message=_text(status.get("message")),
        attributes=attributes(d.get("attributes")),
        events=_events(d.get("events")))


def _text(value: Any) -> str:
    return value if type(value) is str else "" if value is None else str(value)


def _enum(value: Any, names: dict[str, str], values: tuple[str, ...]) -> str:
    if type(value) is str:
        return names.get(value, values[0])
    if type(value) is int and 0 <= value < len(values):
        return values[value]
    return values[0]


def _events(items: Any) -> list[dict[str, Any]]:
    if type(items) is not list:
        return []
    return [{"name": _text(e.get("name")), "time_ns": _lenient_ns(get(e, "timeUnixNano",
                                                                       "time_unix_nano")),
             "attributes": attributes(e.get("attributes"))}
            for e in items if type(e) is dict]


def _lenient_ns(value: Any) -> int:
    try:
        return ns(value)
    except (ValueError, TypeError, OverflowError):
        return 0


def attributes(items: Any) -> dict[str, Any]:
    """OTLP/JSON key-value pairs as a dict (pairs without a key skipped)."""
    if type(items) is not list:
        return {}
    return {k if type(k) is str else str(k): _value(kv.get("value")) for kv in items
            if type(kv) is dict and (k := kv.get("key")) is not None}


def _value(value: Any) -> Any:
    if type(value) is not dict:
        return None
    for key, convert in _VALUES:
        if key in value:
            return convert(value[key])
    return None


def _int_value(value: Any) -> Any:
    if type(value) is int:
        return value
    try:
        number = int(value)
    except (ValueError, TypeError, OverflowError):
        return value
    # orjson writes 64-bit integers only: a bigger one stays the string it was sent as
    return number if -(1 << 63) <= number < (1 << 64) else value


def _double_value(value: Any) -> Any:
    try:
        return float(value)
    except (ValueError, TypeError):
        return value


def _array_value(value: Any) -> list[Any]:
    values = value.get("values") if type(value) is dict else None
    return [_value(v) for v in values] if type(values) is list else []


def _kvlist_value(value: Any) -> dict[str, Any]:
    return attributes(value.get("values")) if type(value) is dict else {}


def _as_sent(value: Any) -> Any:
    return value


_VALUES: tuple[tuple[str, Callable[[Any], Any]], ...] = (
    ("stringValue", _text), ("intValue", _int_value), ("boolValue", _as_sent),
    ("doubleValue", _double_value), ("arrayValue", _array_value), ("kvlistValue", _kvlist_value),
    ("bytesValue", _as_sent))
