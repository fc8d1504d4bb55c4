"""OTLP/HTTP trace export requests, protobuf or JSON, to held fragments; and the answers.

OTLP/JSON is what Souk's own services send (``telemetry.adapters.otlp_json``). Protobuf comes
only from external senders, so its module — and opentelemetry-proto with the protobuf runtime,
several megabytes of modules — is imported at the first protobuf request, not with the process.
"""

from __future__ import annotations

from telemetry.adapters.otlp_json import JSON, DecodedExport, decode_json, encode_json_response

__all__ = ["JSON", "PROTOBUF", "DecodedExport", "decode_export", "encode_response"]

PROTOBUF = "application/x-protobuf"


def decode_export(media_type: str, body: bytes) -> DecodedExport:
    """The fragments of an ``ExportTraceServiceRequest`` in ``media_type`` (JSON or PROTOBUF);
    InvalidExport when the body is not one."""
    if media_type == JSON:
        return decode_json(body)
    from telemetry.adapters import otlp_proto  # lazily: see the module docstring

    return otlp_proto.decode_protobuf(body)


def encode_response(media_type: str, rejected: int = 0, reason: str = "") -> bytes:
    """An ``ExportTraceServiceResponse`` in the request's encoding (empty unless spans were
    rejected)."""
    if media_type == JSON:
        return encode_json_response(rejected, reason)
    from telemetry.adapters import otlp_proto

    return otlp_proto.encode_protobuf_response(rejected, reason)
