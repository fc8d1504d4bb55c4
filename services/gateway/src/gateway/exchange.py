"""The path of one proxied request: route, filters, upstream call, answer — without a task when
it can.

The common request (a verified token seen before, a local rate-limit bucket, an idle pooled
connection to the instance, a small answer) runs entirely in callbacks: the client connection's
parser calls :meth:`Exchange.begin`, which sends the request upstream; the upstream connection's
parser calls :meth:`Exchange.answered`, which writes the answer. Measured here, a task and the
coroutine chain around it cost more than all the gateway's own steps together. Whatever needs to
wait — a token to verify, Redis, a new connection, a retry after backoff, a streamed body, the
OpenAPI rewrite — continues as a task from the step it reached, under the same policy
(:class:`~gateway.call.Call`).

With tracing on, the request runs in its own ``contextvars.Context`` (its callbacks and tasks
alike), so the server span entered in :meth:`Exchange.begin` is current wherever the request
continues, and is ended in that context when the answer is out.
"""

from __future__ import annotations

import contextvars
import functools
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from chassis.http.h1 import H1Response
from chassis.logging import get_logger
from chassis.problems import Problem
from chassis.tracing import SpanKind, SpanRecord, StatusCode, sampled
from chassis.web import valid_request_id
from gateway.call import Call
from gateway.cors import VARY_ORIGIN, Cors
from gateway.filters import DEFER
from gateway.headers import REQUEST_ID_HEADER, client_response_block
from gateway.metrics import UNMATCHED
from gateway.openapi import rewrite_openapi_bytes
from gateway.relay import SMALL_BODY, public_problem, relay
from gateway.request import CLIENT_GONE, ClientGone, Request
from gateway.routes import METHODS, OPENAPI_PATH, BadPath, RouteMatch, canonical_path, upstream_target

if TYPE_CHECKING:
    from gateway.app import Gateway
    from gateway.proxy import _Upstream

__all__ = ["Exchange"]

log = get_logger(__name__)

# the OpenAPI rewrite needs an uncompressed document
_OPENAPI_REQUEST_DROPS = frozenset({b"accept-encoding"})
_FORWARDED = frozenset(METHODS)
_DOCUMENT_METHODS = ("GET", "HEAD")
_ALLOW = ", ".join(METHODS)


class Exchange:
    """One proxied request from its arrival to its answer."""

    __slots__ = ("ctx", "gateway", "held", "label", "request", "request_id", "start", "trace",
                 "trace_line")

    def __init__(self, gateway: Gateway, request: Request,
                 ctx: contextvars.Context | None) -> None:
        self.gateway = gateway
        self.request = request
        self.ctx = ctx
        self.start = time.perf_counter()
        given = request.notable.get(REQUEST_ID_HEADER)
        rid = valid_request_id(given) if given is not None else None
        # a traced request's id is its trace id (set in begin): one id fewer per request, and
        # the id a client quotes finds the trace
        self.request_id = rid.encode() if rid is not None else b""
        self.label = UNMATCHED
        self.trace: tuple[bytes, bytes] | None = None  # trace id, span id of a recorded trace
        self.trace_line = b""  # the traceparent header line sent upstream
        self.held: _Upstream | None = None  # the service this request counts as outstanding to

    # -- the synchronous path --

    def begin(self) -> None:
        """Start the trace, match the route, run the filters that can decide at once, and send
        the request on an idle connection when there is one."""
        gateway, request = self.gateway, self.request
        tracing = gateway.tracing
        if tracing.enabled:
            # The edge starts the trace (a caller's traceparent is not trusted nor forwarded);
            # one span per hop: the upstream continues this one. No span object: the ids come
            # from the request-id pool and the span is recorded once, at the end.
            trace_id, span_id = gateway.ids.trace()
            ratio = tracing.sample_ratio
            if ratio >= 1.0 or sampled(trace_id.decode(), ratio):
                self.trace = (trace_id, span_id)
                self.trace_line = b"traceparent: 00-%b-%b-01\r\n" % (trace_id, span_id)
            else:
                self.trace_line = b"traceparent: 00-%b-%b-00\r\n" % (trace_id, span_id)
            if not self.request_id:
                self.request_id = trace_id
        elif not self.request_id:
            self.request_id = gateway.ids.next()
        try:
            if request.method not in _FORWARDED:  # TRACE, CONNECT: no service answers them
                raise Problem(405, "gateway/method-not-allowed",
                              f"the gateway forwards no {request.method} request",
                              headers={"Allow": _ALLOW})
            cors = gateway.cors
            if cors is not None:
                origin = request.notable.get(b"origin")
                if origin is None:
                    request.cors = VARY_ORIGIN
                elif self._cors(cors, origin):
                    return
            path = request.raw_path
            if "%" in path or "/." in path or "//" in path:
                path = request.path = _canonical(path)
            match = gateway.router.match(path)
            if match is None:
                raise Problem(404, "gateway/no-route", f"no route for {path}")
            route = match.route
            self.label = route.prefix
            if match.rest == OPENAPI_PATH and request.method in _DOCUMENT_METHODS:
                match = gateway.router.document(match)
                route = match.route
            for index, check in enumerate(gateway.filter_checks):
                verdict = DEFER if check is None else check(route, request)
                if verdict is DEFER:
                    self._spawn(self._continue(match, index))
                    return
                if verdict is not None:
                    raise verdict
            self._forward(match)
        except Problem as problem:
            self._problem(problem)
        except Exception as exc:
            self._crash(exc)

    def _cors(self, cors: Cors, origin: bytes) -> bool:
        """Mark every answer to an allowed origin; answer a preflight here (True), before any
        filter: a browser sends it without credentials (a refusal raises a 403 problem)."""
        request = self.request
        if request.method == "OPTIONS":
            method = request.header(b"access-control-request-method")
            if method is not None:
                match = self.gateway.router.match(request.raw_path)  # the metrics' label only
                if match is not None:
                    self.label = match.route.prefix
                headers = cors.preflight(origin, method,
                                         request.header(b"access-control-request-headers"))
                request.respond(204, [*headers, (b"x-request-id", self.request_id)], b"")
                self._done(204)
                return True
        request.cors = cors.lines(origin) if cors.allows(origin) else VARY_ORIGIN
        return False

    def _forward(self, match: RouteMatch) -> None:
        proxy = self.gateway.proxy
        if proxy is None:
            raise _not_ready()
        request = self.request
        if match.document_of is not None:
            self._spawn(self._drive(self._forward_async(match)))
            return
        route = match.route
        plan = proxy.plans.get(route.prefix) or proxy.plan(route)
        self.held = proxy.admit(plan, request.method)
        call = Call(proxy, route, upstream_target(match, request.query), request,
                    self.request_id, trace_line=self.trace_line, plan=plan)
        instance = call.pick()
        if instance is None:
            raise call.exhausted()
        pool = proxy.pool
        origin = pool.origin(instance.url)
        callback: Callable[[H1Response | None, BaseException | None], None] = (
            functools.partial(self.ctx.run, self.answered, call)  # type: ignore[call-arg]
            if self.ctx is not None else functools.partial(self.answered, call))
        # the first attempt starts as the call is made: its whole deadline is left
        hang_up = pool.try_send(origin, b"".join((call.line, origin.host_line, call.tail)),
                                callback, timeout=call.seconds, stream_above=SMALL_BODY,
                                head_only=call.head_only)
        if hang_up is None:
            self._spawn(self._drive(proxy.run(call, picked=True)))
        else:  # a client gone before the answer: the upstream sees its client go too
            request.on_disconnect = hang_up

    def answered(self, call: Call, response: H1Response | None,
                 error: BaseException | None) -> None:
        """The upstream connection's answer (or failure) to the first attempt."""
        request = self.request
        request.on_disconnect = None
        if error is not None and request.gone:  # hung up on by us, for the client that left
            call.abandon()
            self._done(CLIENT_GONE)
            return
        try:
            outcome = call.settle(response, error)
            if not isinstance(outcome, H1Response):  # try again, after a backoff
                self._spawn(self._drive(call.proxy.run(call, delay=outcome)))
            elif outcome.complete and outcome.body is not None:
                status = outcome.status
                raw, body = public_problem(status, outcome.headers, outcome.body, call.relocate)
                self.request.respond_lines(
                    status, client_response_block(raw, self.request_id, call.relocate), body)
                self._done(status)
            else:  # a streamed body
                self._spawn(self._drive(relay(outcome, call.service, call.seconds,
                                              self.request, self.request_id, None,
                                              call.relocate)))
        except Problem as problem:
            self._problem(problem)
        except Exception as exc:
            self._crash(exc)

    # -- the async continuation --

    async def _continue(self, match: RouteMatch, index: int) -> None:
        async def rest() -> int:
            route, request = match.route, self.request
            for request_filter in self.gateway.filters[index:]:
                problem = await request_filter(route, request)
                if problem is not None:
                    raise problem
            return await self._forward_async(match)

        await self._drive(rest())

    async def _forward_async(self, match: RouteMatch) -> int:
        proxy = self.gateway.proxy
        if proxy is None:
            raise _not_ready()
        route, request = match.route, self.request
        if self.held is None:
            self.held = proxy.admit(proxy.plans.get(route.prefix) or proxy.plan(route),
                                    request.method)
        asked = match.document_of
        if asked is not None:
            rewrite = functools.partial(
                rewrite_openapi_bytes, public_prefix=asked.prefix,
                published=functools.partial(self.gateway.router.published, asked))
            return await proxy.forward(route, OPENAPI_PATH, request, self.request_id,
                                       rewrite=rewrite, drop_headers=_OPENAPI_REQUEST_DROPS,
                                       trace_line=self.trace_line, method="GET")
        return await proxy.forward(route, upstream_target(match, request.query), request,
                                   self.request_id, trace_line=self.trace_line)

    async def _drive(self, work: Awaitable[int]) -> None:
        try:
            status = await work
        except Problem as problem:
            self._problem(problem)
            return
        except ClientGone:
            status = CLIENT_GONE
        except Exception as exc:
            self._crash(exc)
            return
        self._done(status)

    def _spawn(self, work: Awaitable[None]) -> None:
        loop = self.gateway.loop
        if self.ctx is not None:
            loop.create_task(work, context=self.ctx)  # type: ignore[arg-type]
        else:
            loop.create_task(work)  # type: ignore[arg-type]

    # -- endings --

    def _problem(self, problem: Problem) -> None:
        if problem.status >= 500:  # the edge's own (no healthy instance, a breaker open …)
            log.warning("answered with a server error", status=problem.status,
                        problem=problem.slug, detail=problem.detail[:300],
                        path=self.request.path, route=self.label,
                        request_id=self.request_id.decode(),
                        **({"trace_id": self.trace[0].decode()} if self.trace else {}))
        self._done(self.request.respond_problem(problem, [(REQUEST_ID_HEADER, self.request_id)]))

    def _crash(self, exc: Exception) -> None:
        request = self.request
        if request.responded:  # mid-stream: the server closes the connection
            self._done(request.status)
            return
        rid = self.request_id.decode()
        log.exception("unexpected error", path=request.path, request_id=rid,
                      error_type=type(exc).__name__)
        self._problem(Problem(500, "gateway/internal-error",
                              "an unexpected error occurred; quote the request id when "
                              "reporting it", request_id=rid))

    def _done(self, status: int) -> None:
        request = self.request
        if self.held is not None:
            self.held.outstanding -= 1
            self.held = None
        elapsed = time.perf_counter() - self.start
        self.gateway.metrics.observe(request.method, self.label, status, elapsed)
        trace = self.trace
        if trace is not None:
            self.trace = None
            trace_id_bytes, span_id = trace
            trace_id, tracing = trace_id_bytes.decode(), self.gateway.tracing
            duration = int(elapsed * 1e9)
            # the edge holds nothing: its span is the last of a trace to end, so it is kept
            # when the trace is kept by then, or the upstream's answer said it is
            # (chassis.trace_keep); its times are read only then
            if tracing.wants(trace_id, status >= 500, duration, request.trace_kept):
                end = time.time_ns()
                start = end - duration
                method = request.method
                tracing.add_record(SpanRecord(
                    trace_id, span_id.decode(), "", f"{method} {request.path}", _SERVER, start,
                    end, _ERROR if status >= 500 else 0, "",
                    (("http.request.method", method), ("http.response.status_code", status))))
        request.finish()


_ERROR = int(StatusCode.ERROR)
_SERVER = int(SpanKind.SERVER)


def _canonical(raw: str) -> str:
    # matched and forwarded alike: what the edge checks is what the service routes
    try:
        return canonical_path(raw)
    except BadPath as exc:
        raise Problem(400, "gateway/bad-path", str(exc)) from None


def _not_ready() -> Problem:
    return Problem(503, "gateway/not-ready", "the gateway is starting or stopping",
                   headers={"Retry-After": "1"})
