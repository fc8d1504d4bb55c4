"""The ASGI application every service runs: one callable does what a stack of middleware would.

Per request, in one pass: request id (taken from ``X-Request-Id`` when it is sane, else made), the
server span when the caller sent a ``traceparent`` (services continue traces; only the edge starts
them), route match (404/405 problems), authentication, parameters and body, the handler, admission
(a request whose ``X-Souk-Deadline`` has passed is answered 504 without being worked on; past the
concurrency limit, 503 + ``Retry-After`` at once, cheapest work first:
:mod:`chassis.web.admission`), the problem+json answer for any error (domain errors through the
service's problem map; anything unexpected is a logged 500 with no stack trace in the body), RED
metrics per route template.

Measured on a real endpoint (bench/http_stack.py; figures in docs/decisions.md) this costs about
a quarter of the typical FastAPI style for the same handler, with the same OpenAPI detail.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import msgspec

from chassis import clock
from chassis.auth.tokens import TokenVerifier
from chassis.fault_rules import ActiveFaults
from chassis.http.deadline import current_deadline
from chassis.http.errors import PROXY_STATUS, dependency_failure, proxy_status
from chassis.logging import get_logger, request_id_var
from chassis.metrics import HttpMetrics
from chassis.problems import Problem, ProblemMap
from chassis.tracing import NO_TRACING, SpanKind, StatusCode, Tracing, parse_traceparent
from chassis.web.admission import Admission, Priority
from chassis.web.auth import authenticate, client_address
from chassis.web.faults import Dropped, apply_route_fault, rule_for
from chassis.web.params import ParamSpec, validation_problem
from chassis.web.request import ADMITTED, Receive, Request, Scope, Send
from chassis.web.responses import Answer, Response, json_response, problem
from chassis.web.routing import Route, Router, RouteTable

__all__ = ["REQUEST_ID", "App", "freeze_startup_objects", "request_id_var", "valid_request_id"]

log = get_logger(__name__)

REQUEST_ID = b"x-request-id"
_TRACEPARENT = b"traceparent"
_DEADLINE = b"x-souk-deadline"  # chassis.http.deadline: absolute, Unix milliseconds
_EXEMPT = Priority.EXEMPT
# said on an answer whose trace is kept whatever the keep ratio (chassis.trace_keep); the edge
# reads it and drops it
TRACE_KEPT = (b"souk-trace-keep", b"1")
_UNMATCHED = "<unmatched>"
DROPPED = 0  # the status a request whose connection a fault closed counts with

Lifespan = Callable[["App"], AbstractAsyncContextManager[None]]


def valid_request_id(raw: bytes | None) -> str | None:
    """A caller's request id only if it is short and printable, so it is safe in logs."""
    if raw and len(raw) <= 128 and all(33 <= b <= 126 for b in raw):
        return raw.decode("ascii")
    return None


def freeze_startup_objects() -> None:
    """Move everything made at start-up (modules, classes, routes, settings) out of the garbage
    collector's reach: a full collection then walks only what requests made since, instead of
    ~100k objects that will live as long as the process (a pause of tens of milliseconds)."""
    gc.collect()
    gc.freeze()


class _RequestIds:
    """Random hex ids from one ``os.urandom`` call per 256 ids (a syscall per id costs more)."""

    def __init__(self) -> None:
        self._pool = ""
        self._at = 0

    def next(self) -> str:
        if self._at >= len(self._pool):
            self._pool, self._at = os.urandom(4096).hex(), 0
        self._at += 32
        return self._pool[self._at - 32:self._at]


def _is_json(content_type: str) -> bool:
    media = content_type.partition(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/")
                                           and media.endswith("+json"))


class App:
    """A service's HTTP application (ASGI 3). Build it with :func:`chassis.create_service_app`.

    ``provide(obj)`` makes ``obj`` available to handlers by its type; ``lifespan(app)`` runs
    around serving (start what the handlers need, provide it)."""

    def __init__(self, *, title: str, version: str = "1.0.0", description: str = "",
                 problems: ProblemMap | None = None, lifespan: Lifespan | None = None,
                 metrics: HttpMetrics | None = None, tracing: Tracing = NO_TRACING,
                 settings: Any = None, max_body: int = 1024 * 1024,
                 faults: ActiveFaults | None = None, max_concurrency: int = 0) -> None:
        self.title = title
        self.version = version
        self.description = description
        self.problems: dict[type[Exception], tuple[int, str]] = dict(problems or {})
        self.lifespan = lifespan
        self.metrics = metrics
        self.tracing = tracing
        self.settings = settings
        # who answers a Proxy-Status (chassis.http.errors): the service, else the app's title
        name = str(getattr(settings, "service_name", "") or title)
        self._name = "".join(c if c.isalnum() or c in "-_." else "-" for c in name)
        self.verifier: TokenVerifier | None = None
        self.max_body = max_body
        self.faults = faults or ActiveFaults()  # switched on live (chassis.web.faults)
        self.admission = Admission(max_concurrency)
        self.table = RouteTable()
        self.providers: dict[type, Any] = {}
        self.started = False
        self._ids = _RequestIds()
        self._openapi: bytes | None = None
        # a front end's own page for the chassis's problems (no such page, a bad parameter …),
        # answered to browsers (Accept: text/html); other callers still get problem+json
        self.error_page: Callable[[Problem, Request], Response] | None = None

    # -- building ----------------------------------------------------------------------------

    def include(self, router: Router) -> None:
        for route in router.routes:
            for error in route.raises:
                if not any(cls in self.problems for cls in error.__mro__):
                    raise TypeError(f"{route.operation_id} raises {error.__name__}, which the "
                                    "app's problem map does not map")
            self.table.add(route)
        self._openapi = None

    def set_max_concurrency(self, limit: int) -> None:
        """Change how many requests this instance works on at once, at run time (0: no limit).
        The live configuration calls it when ``max_concurrency`` changes."""
        self.admission.set_limit(limit)

    def provide(self, obj: Any, as_type: type | None = None) -> None:
        self.providers[as_type or type(obj)] = obj

    def openapi(self) -> bytes:
        if self._openapi is None:
            from chassis.web.openapi import build_openapi

            self._openapi = msgspec.json.encode(build_openapi(self))
        return self._openapi

    def _check_ready_to_serve(self) -> None:
        for route in self.table.routes:
            missing = [t.__name__ for t in route.compiled.provided if t not in self.providers]
            if missing:
                raise RuntimeError(f"{route.operation_id} needs {missing}: nothing provided them")
            if route.auth is not None and self.verifier is None:
                raise RuntimeError(f"{route.operation_id} needs token verification, and this "
                                   "service has no verifier (no registry and no JWKS URL)")

    # -- ASGI --------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        context: AbstractAsyncContextManager[None] | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    if self.lifespan is not None:
                        entering = self.lifespan(self)
                        await entering.__aenter__()
                        # exited only once entered: a context whose entry failed has cleaned
                        # up already, and exiting it again raised a second error ("generator
                        # didn't stop after athrow()") that buried the first in the log
                        context = entering
                    self._check_ready_to_serve()
                except Exception as exc:
                    log.exception("start-up failed")
                    if context is not None:
                        await context.__aexit__(type(exc), exc, exc.__traceback__)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                self.started = True
                freeze_startup_objects()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.started = False
                try:
                    if context is not None:
                        await context.__aexit__(None, None, None)
                finally:
                    await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        rid = parent = deadline = None
        for key, value in scope["headers"]:
            if key == REQUEST_ID:
                rid = value
            elif key == _TRACEPARENT:
                parent = value
            elif key == _DEADLINE:
                deadline = value
        request_id = valid_request_id(rid) or self._ids.next()
        request_id_var.set(request_id)
        method, path = scope["method"], scope["path"]
        route, params, allowed = self.table.match(method, path)
        template = route.path if route is not None else _UNMATCHED
        if route is not None and route.priority is not _EXEMPT:
            refused = None
            if deadline is not None:
                refused = _expired(deadline, path)
                current_deadline.set(_seconds(deadline))  # the handler's calls inherit it
            elif current_deadline.get() is not None:  # a context reused by the server (tests)
                current_deadline.set(None)
            admission = self.admission
            if refused is None and not admission.enter(route.priority):
                refused = _overloaded(path)
            if refused is not None:
                await refused.send(send, ((REQUEST_ID, request_id.encode()),),
                                   head_only=method == "HEAD")
                if self.metrics is not None:
                    self.metrics.observe(method, template, refused.status,
                                         time.perf_counter() - started)
                return
            scope[ADMITTED] = admission  # counted until answered, or a long poll steps out
            try:
                await self._traced(route, params, allowed, scope, receive, send, request_id,
                                   parent, method, template, started)
            finally:
                if scope.pop(ADMITTED, None) is not None:
                    admission.leave()
            return
        await self._traced(route, params, allowed, scope, receive, send, request_id, parent,
                           method, template, started)

    async def _traced(self, route: Route | None, params: dict[str, str], allowed: list[str],
                      scope: Scope, receive: Receive, send: Send, request_id: str,
                      parent: bytes | None, method: str, template: str,
                      started: float) -> None:
        context = (parse_traceparent(parent.decode("latin-1"))
                   if parent is not None and self.tracing.enabled else None)
        if context is None:  # services continue traces; only the edge starts them
            status = await self._answer(route, params, allowed, scope, receive, send, request_id)
        else:
            with self.tracing.span(f"{method} {template}", kind=SpanKind.SERVER, parent=context,
                                   attributes={"http.request.method": method,
                                               "http.route": template}) as span:
                status = await self._answer(route, params, allowed, scope, receive, send,
                                            request_id, context.trace_id)
                span.set_attribute("http.response.status_code", status)
                if status >= 500 or status == DROPPED:
                    span.set_status(StatusCode.ERROR)
        if self.metrics is not None:
            self.metrics.observe(method, template, status, time.perf_counter() - started)

    async def _answer(self, route: Route | None, params: dict[str, str], allowed: list[str],
                      scope: Scope, receive: Receive, send: Send, request_id: str,
                      trace_id: str | None = None) -> int:
        path = scope["path"]
        request = Request(scope, receive, request_id=request_id, max_body=self.max_body)
        try:
            if route is None:
                # the path is not repeated: behind the edge it is the service's own, which no
                # answer shows (the problem's instance is the path the caller sent)
                if allowed:
                    raise Problem(405, "method-not-allowed",
                                  f"{scope['method']} is not allowed here; allowed: "
                                  + ", ".join(allowed), headers={"Allow": ", ".join(allowed)})
                raise Problem(404, "not-found", "there is no resource at this address")
            request.path_params = params
            if self.faults.routes:  # the one check on this path while no fault is switched on
                rule = rule_for(self.faults, route)
                if rule is not None:
                    await apply_route_fault(rule, route, scope, receive, self.faults)
            response = await self._call(route, request)
        except Answer as answer:
            response = answer.response
        except Dropped:
            return DROPPED
        except Problem as error:
            if error.status >= 500:
                _log_server_error(error.status, error.slug, error.detail, path)
            response = self._problem(error, request, path)
        except Exception as exc:
            response = self._unexpected(exc, path, request_id)
        extra: tuple[tuple[bytes, bytes], ...] = ((REQUEST_ID, request_id.encode()),)
        if trace_id is not None and self.tracing.is_kept(trace_id):
            extra += (TRACE_KEPT,)  # kept whatever the ratio: the edge keeps its span too
        await response.send(send, extra, head_only=scope["method"] == "HEAD")
        return response.status

    def _problem(self, error: Problem, request: Request, path: str) -> Response:
        if self.error_page is not None and "text/html" in (request.header("accept") or ""):
            return self.error_page(error, request)
        return problem(error, path)

    def _unexpected(self, exc: Exception, path: str, request_id: str) -> Response:
        for cls in type(exc).__mro__:
            mapped = self.problems.get(cls)
            if mapped is not None:
                status, slug = mapped
                failure = dependency_failure(exc) if status >= 500 else None
                headers = ({PROXY_STATUS: proxy_status(self._name, failure)}
                           if failure is not None else None)
                if status >= 500:
                    _log_server_error(status, slug, str(exc), path, type(exc).__name__)
                return problem(Problem(status, slug, str(exc), headers=headers), path)
        log.exception("unhandled error", path=path, error_type=type(exc).__name__)
        return problem(Problem(500, "internal-error", "an unexpected error occurred; quote the "
                               "request id when reporting it", request_id=request_id), path)

    async def _call(self, route: Route, request: Request) -> Response:
        if route.auth is not None:
            request.principal = await authenticate(route.auth, request, self.verifier,
                                                   self.settings)
        if request.scope.get("query_string") and not route.ignore_other_query:
            unknown = set(request.query) - route.compiled.query_names
            if unknown:  # a typo must not look like success
                raise Problem(400, "validation-error", "unknown query parameter(s): "
                              + ", ".join(sorted(unknown))[:200],
                              errors=[{"loc": ["query", name[:64]], "msg": "not a parameter",
                                       "type": "unknown"} for name in sorted(unknown)[:10]])
        kwargs: dict[str, Any] = {}
        for name, kind, detail in route.compiled.fill:
            if kind == "param":
                kwargs[name] = _param(request, detail)
            elif kind == "provided":
                kwargs[name] = self.providers[detail]
            elif kind == "body":
                kwargs[name] = await _body(request, route)
            elif kind == "principal":
                kwargs[name] = request.principal
            elif kind == "client":
                kwargs[name] = await client_address(request, self.verifier, self.settings)
            else:
                kwargs[name] = request
        result = await route.handler(**kwargs)
        if isinstance(result, Response):
            return result
        if result is None:
            return Response(status=route.status)
        return json_response(result, route.status)


def _seconds(raw: bytes) -> float | None:
    """``X-Souk-Deadline`` as Unix seconds; None when malformed (then it is ignored, as
    :func:`chassis.http.deadline_from_headers` does)."""
    if not raw.isdigit() or len(raw) > 16:
        return None
    return int(raw) / 1000.0


def _expired(raw: bytes, path: str) -> Response | None:
    """The 504 for a request whose caller's deadline has passed (its caller has given up), or
    None."""
    seconds = _seconds(raw)
    if seconds is None or seconds > clock.time():
        return None
    return problem(Problem(504, "deadline-exceeded", "the caller's deadline (X-Souk-Deadline) "
                           "passed before the work began; nothing was done"), path)


def _overloaded(path: str) -> Response:
    return problem(Problem(503, "overloaded", "this instance is at its concurrency limit; "
                           "nothing was done, try again after Retry-After",
                           headers={"Retry-After": "1"}), path)


def _param(request: Request, spec: ParamSpec) -> Any:
    raw: Any
    if spec.source == "path":
        raw = request.path_params.get(spec.name)
    elif spec.source == "query":
        values = request.query.get(spec.name)
        raw = values if spec.is_list or values is None else values[0]
    else:
        raw = request.header(spec.name)
    if raw is None:
        if spec.required:
            raise Problem(400, "validation-error", f"the {spec.source} parameter "
                          f"{spec.name!r} is required",
                          errors=[{"loc": [spec.source, spec.name], "msg": "required",
                                   "type": "missing"}])
        return spec.default
    if spec.type is str:
        return raw
    try:
        return msgspec.convert(raw, spec.type, strict=False)
    except msgspec.ValidationError as exc:
        raise validation_problem(400, spec.source, exc, spec.name) from None


async def _body(request: Request, route: Route) -> Any:
    content_type = request.header("content-type")
    if content_type is not None and not _is_json(content_type):
        raise Problem(415, "unsupported-media-type", "send the body as application/json")
    coding = request.header("content-encoding")
    if coding is not None and coding.strip().lower() not in ("", "identity"):
        # RFC 9110 8.4.1: a coding the server does not decode is refused, not read as it is
        raise Problem(415, "unsupported-media-type",
                      f"the body's content coding {coding.strip()[:40]!r} is not accepted: "
                      "send it uncompressed")
    raw = await request.body()
    decoder = route.compiled.body_decoder
    assert decoder is not None
    try:
        return decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise validation_problem(422, "body", exc) from None
    except msgspec.DecodeError:
        raise Problem(400, "invalid-json", "the request body is not valid JSON") from None
    except RecursionError:  # msgspec's depth limit, even in a field the route ignores
        raise Problem(400, "invalid-json", "the request body is nested too deeply") from None


def _log_server_error(status: int, slug: str, detail: str, path: str, error_type: str = "") -> None:
    """A 5xx the service answers on purpose (a dependency away, overload past a handler) is
    still the operator's business: one line with its request and trace ids, so that `souk logs
    --trace` finds why a request failed. (An unexpected error logs its traceback instead; a 4xx
    is the caller's.)"""
    log.warning("answered with a server error", status=status, problem=slug, detail=detail[:300],
                path=path, **({"error_type": error_type} if error_type else {}))
