"""Telemetry's HTTP API: the OTLP/HTTP trace receiver and the admin-only trace search.

Ingest has no authentication, like an OpenTelemetry collector's receiver: on the embedded default
telemetry listens on loopback only, and in production a collector (Jaeger, Tempo) takes its place
by configuration, so nothing public ever reaches this port.
"""

from __future__ import annotations

import zlib
from typing import Annotated, Literal

from chassis.pagination import MAX_CURSOR_LENGTH, CursorCodec, InvalidCursor, Page
from chassis.problems import Problem
from chassis.web import ADMIN, Media, Path, Priority, Query, Request, Response, Router
from telemetry.adapters.otlp import JSON, PROTOBUF, decode_export, encode_response
from telemetry.domain.errors import InvalidExport, InvalidTraceId, TraceNotFound
from telemetry.entrypoints.schemas import ServiceListOut, SpanNodeOut, SpanOut, SummaryOut, TraceOut
from telemetry.service import queries
from telemetry.service.context import TelemetryContext
from telemetry.service.ports import TraceQuery

__all__ = ["router"]

router = Router(tags=["telemetry"])

_PAGES = CursorCodec("telemetry.traces.v1")
_SERVICE_NAME = r"^[A-Za-z0-9_.:\-]+$"
_MEDIA_TYPES = (PROTOBUF, JSON)
_INFLATE_WBITS = {"gzip": 47, "deflate": 15}  # 47: gzip or zlib header, as clients differ


def _too_large(limit: int) -> Problem:
    return Problem(413, "too-large", f"export requests are limited to {limit} bytes")


def _inflated(body: bytes, encoding: str, limit: int) -> bytes:
    """``body`` decompressed, at most ``limit`` bytes of it: a small compressed body must not
    expand into gigabytes here."""
    wbits = _INFLATE_WBITS.get(encoding)
    if wbits is None:
        raise Problem(415, "unsupported-media-type",
                      f"Content-Encoding {encoding!r} is not supported (gzip, deflate, identity)")
    inflater = zlib.decompressobj(wbits=wbits)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise InvalidExport(f"the body is not valid {encoding} data") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise _too_large(limit)
    if not inflater.eof:
        raise InvalidExport(f"the {encoding} data is truncated")
    return data


@router.post(
    "/v1/traces", raises=(InvalidExport,),
    body=(Media(PROTOBUF, "an OTLP ExportTraceServiceRequest"),
          Media(JSON, "the same as OTLP/JSON (what Souk's services send)")),
    responses={200: (Media(PROTOBUF, "an ExportTraceServiceResponse"),
                     Media(JSON, 'the same as OTLP/JSON: `{}`, or `{"partialSuccess": '
                                 '{"rejectedSpans": "<n>", "errorMessage": "..."}}`'))},
    problems={413: "the body, or its decompressed form, is over the size limit (too-large)",
              415: "a content type other than application/x-protobuf or application/json, or "
                   "a Content-Encoding other than gzip or deflate (unsupported-media-type)"},
    priority=Priority.READ)  # spans are the first thing to drop when saturated
async def export_traces(request: Request, telemetry: TelemetryContext) -> Response:
    """OTLP/HTTP trace export, optionally gzip- or deflate-encoded.

    Answers an `ExportTraceServiceResponse` in the request's encoding; spans with a malformed id
    or time are refused alone and counted in its partial success. The spans are held until their
    trace settles, then kept or dropped by the keep rules: a trace is not found before that."""
    media_type = (request.header("content-type") or "").partition(";")[0].strip().lower()
    if media_type not in _MEDIA_TYPES:
        raise Problem(415, "unsupported-media-type",
                      f"send {PROTOBUF} or {JSON}, not {media_type or 'no content type'}")
    body = await request.body()  # the chassis refuses more than max_body (413)
    encoding = (request.header("content-encoding") or "").strip().lower()
    if encoding not in ("", "identity"):
        # the same limit after decompression: the app's max_body is max_body_bytes
        body = _inflated(body, encoding, request.max_body)
    decoded = decode_export(media_type, body)
    telemetry.sampler.accept(decoded.fragments, rejected=decoded.rejected)
    return Response(encode_response(media_type, decoded.rejected, decoded.reason),
                    media_type=media_type)


def _before(cursor: str | None) -> tuple[int, str] | None:
    if cursor is None:
        return None
    start_ns, trace_id = _PAGES.decode(cursor, (int, str))
    return int(start_ns), str(trace_id)


@router.get("/v1/traces", auth=ADMIN, raises=(InvalidCursor,))
async def search_traces(
    telemetry: TelemetryContext,
    service: Annotated[str | None, Query(max_length=100, pattern=_SERVICE_NAME,
                                         description="a service with a span in the trace")] = None,
    operation: Annotated[str | None, Query(min_length=1, max_length=300,
                                           description="a span name (of `service` if given)")] = None,
    status: Annotated[Literal["error", "ok"] | None, Query(
        description="error: traces with a failed span; ok: the others")] = None,
    min_duration_ms: Annotated[float | None, Query(ge=0, le=1e12)] = None,
    order_id: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE_SIZE)] = queries.DEFAULT_PAGE_SIZE,
    before: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH,
                                        description="`next` of the previous page")] = None,
) -> Page[SummaryOut]:
    """Trace summaries, newest first (admin only)."""
    page = await queries.search_traces(telemetry.uow, TraceQuery(
        limit=limit, service=service, operation=operation,
        error=None if status is None else status == "error", min_duration_ms=min_duration_ms,
        order_id=order_id, before=_before(before)))
    return Page([SummaryOut.of(s) for s in page.items],
                None if page.next is None else _PAGES.encode(list(page.next)))


@router.get("/v1/traces/{trace_id}", auth=ADMIN, raises=(InvalidTraceId, TraceNotFound))
async def get_trace(trace_id: Annotated[str, Path(max_length=64)],
                    telemetry: TelemetryContext) -> TraceOut:
    """One trace: its summary, its spans by start time, and the same spans as a tree."""
    detail = await queries.get_trace(telemetry.uow, trace_id)
    return TraceOut(trace_id=detail.summary.trace_id, summary=SummaryOut.of(detail.summary),
                    spans=[SpanOut.of(s) for s in detail.spans],
                    tree=[SpanNodeOut.of_node(n) for n in detail.tree])


@router.get("/v1/services", auth=ADMIN)
async def list_services(telemetry: TelemetryContext) -> ServiceListOut:
    """Every service that has sent a span (admin only)."""
    return ServiceListOut(items=await queries.list_services(telemetry.uow))
