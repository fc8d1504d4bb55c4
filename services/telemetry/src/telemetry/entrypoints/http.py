"""Telemetry's HTTP API: the OTLP/HTTP trace receiver and the admin-only trace search.

Ingest has no authentication, like an OpenTelemetry collector's receiver: on the embedded default
telemetry listens on loopback only, and in production a collector (Jaeger, Tempo) takes its place
by configuration, so nothing public ever reaches this port.
"""

from __future__ import annotations

import zlib
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from chassis.auth import Principal, require_role
from chassis.openapi import problem_responses
from chassis.problems import Problem
from telemetry.adapters.otlp import JSON, PROTOBUF, decode_json, decode_protobuf, encode_response
from telemetry.domain.errors import InvalidCursor, InvalidTraceId
from telemetry.domain.spans import normalize_trace_id
from telemetry.entrypoints.schemas import (
    ServiceListOut,
    SpanNodeOut,
    SpanOut,
    SummaryOut,
    TraceOut,
    TracePageOut,
)
from telemetry.service import queries
from telemetry.service.ingest import ingest
from telemetry.service.ports import TraceQuery, UnitOfWork

__all__ = ["UnitOfWorkDep", "router"]


async def get_unit_of_work(request: Request) -> UnitOfWork:
    uow: UnitOfWork = request.app.state.trace_store
    return uow


UnitOfWorkDep = Annotated[UnitOfWork, Depends(get_unit_of_work)]
Admin = Annotated[Principal, Depends(require_role("admin"))]

router = APIRouter(prefix="/v1", tags=["telemetry"])
_SERVICE_NAME = r"^[A-Za-z0-9_.:\-]+$"


def _too_large(limit: int) -> Problem:
    return Problem(413, "too-large", f"export requests are limited to {limit} bytes")


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise Problem(415, "unsupported-media-type",
                      f"Content-Encoding {encoding!r} is not supported (gzip, deflate, identity)")
    # bounded inflation: a small compressed body must not expand into gigabytes here
    inflater = zlib.decompressobj(wbits=47 if encoding == "gzip" else 15)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise Problem(400, "telemetry/invalid-export",
                      f"the body is not valid {encoding} data") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise _too_large(limit)
    if not inflater.eof:
        raise Problem(400, "telemetry/invalid-export", f"the {encoding} data is truncated")
    return data


@router.post("/traces", openapi_extra={"requestBody": {"required": True, "content": {
                 PROTOBUF: {"schema": {"type": "string", "format": "binary"}},
                 JSON: {"schema": {"type": "object"}}}}},
             responses=problem_responses({
                 400: "undecodable body (telemetry/invalid-export)",
                 413: "body (or its decompressed form) over the size limit",
                 415: "a content type other than application/x-protobuf or application/json, "
                      "or an unsupported Content-Encoding"}))
async def export_traces(request: Request, uow: UnitOfWorkDep) -> Response:
    """OTLP/HTTP trace export (``ExportTraceServiceRequest``, protobuf or OTLP/JSON, optionally
    gzip); answers an ``ExportTraceServiceResponse`` in the same encoding."""
    media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media_type not in (PROTOBUF, JSON):
        raise Problem(415, "unsupported-media-type",
                      f"send {PROTOBUF} or {JSON}, not {media_type or 'no content type'}")
    body = await _read_body(request, request.app.state.runtime.settings.max_body_bytes)
    decoded = decode_protobuf(body) if media_type == PROTOBUF else decode_json(body)
    await ingest(uow, decoded.spans)
    return Response(encode_response(media_type, decoded.rejected, decoded.reason),
                    media_type=media_type)


def _cursor(before: str | None) -> tuple[int, str] | None:
    if before is None:
        return None
    start, _, trace_id = before.partition(".")
    try:
        return int(start), normalize_trace_id(trace_id)
    except (ValueError, InvalidTraceId):
        raise InvalidCursor("before must be the next value of a previous page") from None


_READ_PROBLEMS = {401: "no valid bearer token", 403: "the token lacks the admin role"}


@router.get("/traces", responses=problem_responses({
    **_READ_PROBLEMS, 400: "invalid parameter (validation-error) or cursor (telemetry/invalid-cursor)"}))
async def search_traces(
    uow: UnitOfWorkDep, _: Admin,
    service: Annotated[str | None, Query(max_length=100, pattern=_SERVICE_NAME,
                                         description="a service with a span in the trace")] = None,
    operation: Annotated[str | None, Query(min_length=1, max_length=300,
                                           description="a span name (of `service` if given)")] = None,
    status: Annotated[Literal["error", "ok"] | None, Query(
        description="error: traces with a failed span; ok: the others")] = None,
    min_duration_ms: Annotated[float | None, Query(ge=0, le=1e12)] = None,
    order_id: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=queries.MAX_PAGE_SIZE)] = queries.DEFAULT_PAGE_SIZE,
    before: Annotated[str | None, Query(max_length=64,
                                        description="`next` of the previous page")] = None,
) -> TracePageOut:
    """Trace summaries, newest first (admin only)."""
    page = await queries.search_traces(uow, TraceQuery(
        limit=limit, service=service, operation=operation,
        error=None if status is None else status == "error", min_duration_ms=min_duration_ms,
        order_id=order_id, before=_cursor(before)))
    return TracePageOut(items=[SummaryOut.of(s) for s in page.items],
                        next=None if page.next is None else f"{page.next[0]}.{page.next[1]}")


@router.get("/traces/{trace_id}", responses=problem_responses({
    **_READ_PROBLEMS, 400: "not a trace id (telemetry/invalid-trace-id)",
    404: "unknown or pruned trace (telemetry/trace-not-found)"}))
async def get_trace(trace_id: Annotated[str, Path(max_length=64)], uow: UnitOfWorkDep,
                    _: Admin) -> TraceOut:
    """One trace: its summary, its spans by start time, and the same spans as a tree."""
    detail = await queries.get_trace(uow, trace_id)
    return TraceOut(trace_id=detail.summary.trace_id, summary=SummaryOut.of(detail.summary),
                    spans=[SpanOut.of(s) for s in detail.spans],
                    tree=[SpanNodeOut.of_node(n) for n in detail.tree])


@router.get("/services", responses=problem_responses(_READ_PROBLEMS))
async def list_services(uow: UnitOfWorkDep, _: Admin) -> ServiceListOut:
    """Every service that has sent a span (admin only)."""
    return ServiceListOut(items=await queries.list_services(uow))
