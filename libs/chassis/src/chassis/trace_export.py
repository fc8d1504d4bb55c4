"""Span export: OTLP/HTTP with the JSON encoding, posted once a second from the event loop.

A kept span is encoded as it is handed over (a few microseconds: the JSON is written out by
hand, ~5x cheaper than building OTLP's key-value dicts for a serializer) and the batch is posted
by a task of the running loop over the chassis's HTTP/1.1 pool. No export thread: a thread
encoding a second's worth of spans took the GIL from the loop in 5 ms slices, which showed in
every latency percentile. A collector that is down or slow costs the batches it misses (counted
in ``dropped``), never the requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson

from chassis.tasks import cancel_and_wait
from chassis.tracing import SpanRecord

__all__ = ["OtlpJsonExporter", "encode_records"]


def _json(text: str) -> str:
    return orjson.dumps(text).decode()


_KEYS: dict[str, str] = {}


def _key(name: str) -> str:
    found = _KEYS.get(name)
    if found is None:
        found = _KEYS[name] = '{"key":' + _json(name) + ',"value":'
    return found


def _value(value: Any) -> str:
    if value is True:
        return '{"boolValue":true}}'
    if value is False:
        return '{"boolValue":false}}'
    if isinstance(value, int):
        return f'{{"intValue":"{value}"}}}}'
    if isinstance(value, float):
        return '{"doubleValue":' + orjson.dumps(value).decode() + "}}"
    return '{"stringValue":' + _json(str(value)) + "}}"


def _attributes(attributes: tuple[tuple[str, Any], ...]) -> str:
    return ",".join(_key(k) + _value(v) for k, v in attributes)


def encode_record(span: SpanRecord) -> str:
    """One OTLP/JSON span."""
    out = (f'{{"traceId":"{span.trace_id}","spanId":"{span.span_id}",'
           f'"name":{_json(span.name)},"kind":{span.kind},'
           f'"startTimeUnixNano":"{span.start_ns}","endTimeUnixNano":"{span.end_ns}"')
    if span.parent_id:
        out += f',"parentSpanId":"{span.parent_id}"'
    if span.attributes:
        out += ',"attributes":[' + _attributes(span.attributes) + "]"
    if span.status:
        out += f',"status":{{"code":{span.status},"message":{_json(span.status_message)}}}'
    if span.events:
        out += ',"events":[' + ",".join(
            f'{{"timeUnixNano":"{at}","name":{_json(name)}'
            + (',"attributes":[' + _attributes(attrs) + "]" if attrs else "") + "}"
            for at, name, attrs in span.events) + "]"
    return out + "}"


def _request(resource: Mapping[str, str], encoded: list[str]) -> bytes:
    return ('{"resourceSpans":[{"resource":{"attributes":['
            + _attributes(tuple(resource.items()))
            + ']},"scopeSpans":[{"scope":{"name":"souk"},"spans":['
            + ",".join(encoded) + "]}]}]}").encode()


def encode_records(resource: Mapping[str, str], spans: list[SpanRecord]) -> bytes:
    """One ``ExportTraceServiceRequest`` in OTLP/JSON."""
    return _request(resource, [encode_record(s) for s in spans])


class OtlpJsonExporter:
    """Encodes kept spans as they come and posts them to ``url`` once per ``interval``."""

    def __init__(self, url: str, resource: Mapping[str, str], *, interval: float = 1.0,
                 max_pending: int = 50_000, max_batch: int = 5_000,
                 timeout: float = 5.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) OTLP endpoint: {url!r}")
        self.url = url
        self.resource = dict(resource)
        self.interval = interval
        self.max_pending = max_pending
        self.max_batch = max_batch
        self.timeout = timeout
        self.exported = 0
        self.dropped = 0
        self._parts = parts
        self._pending: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self._transport: Any = None
        self._closed = False

    def export(self, span: SpanRecord) -> None:
        if len(self._pending) >= self.max_pending:
            self.dropped += 1
            return
        self._pending.append(encode_record(span))
        if self._task is None and not self._closed:
            with contextlib.suppress(RuntimeError):  # no running loop: flush() posts them
                self._task = asyncio.get_running_loop().create_task(
                    self._run(), name="otlp-export")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self._post_pending()

    async def _post_pending(self) -> None:
        if self._transport is None:
            from chassis.http.h1 import H1Transport

            self._transport = H1Transport(connect_timeout=self.timeout)
        while self._pending:
            batch = self._pending[:self.max_batch]
            del self._pending[:self.max_batch]
            try:
                answer = await self._transport.send(
                    "POST", self.url, headers={"Content-Type": "application/json"},
                    body=_request(self.resource, batch), timeout=self.timeout)
                ok = answer.status < 300
            except Exception:  # the collector is away: this batch is lost, the next may go
                ok = False
            if ok:
                self.exported += len(batch)
            else:
                self.dropped += len(batch)

    def flush(self, timeout: float = 5.0) -> None:
        """Post what is pending now, blocking (tests, and a process about to exit)."""
        while self._pending:
            batch = self._pending[:self.max_batch]
            del self._pending[:self.max_batch]
            if self._post_blocking(_request(self.resource, batch), timeout):
                self.exported += len(batch)
            else:
                self.dropped += len(batch)

    def _post_blocking(self, body: bytes, timeout: float) -> bool:
        cls = (http.client.HTTPSConnection if self._parts.scheme == "https"
               else http.client.HTTPConnection)
        conn = cls(self._parts.hostname or "", self._parts.port, timeout=timeout)
        try:
            conn.request("POST", self._parts.path or "/v1/traces", body,
                         {"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            return response.status < 300
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    async def aclose(self) -> None:
        """Stop the posting task and post what is left (the service's shutdown)."""
        self._closed = True
        await cancel_and_wait(self._task)
        self._task = None
        if self._pending:
            await self._post_pending()
        if self._transport is not None:
            await self._transport.close()
            self._transport = None

    def shutdown(self) -> None:
        """Post what is left, blocking (a process without a running loop)."""
        self._closed = True
        self.flush()
