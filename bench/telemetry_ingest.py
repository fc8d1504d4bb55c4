"""What one span costs the embedded trace store (services/telemetry) in CPU, with tail sampling.

Every span of the platform is exported to it, so this says whether it keeps up. The workload is
checkout-like: 40-span traces spread over 10 services (4 spans each), every export request one
service's spans of 40 traces (160 spans), so each trace arrives in 10 fragments; 1 % of the traces
fail, 2 % carry ``souk.keep`` (cancelled checkouts), 1 % are slow, and keep_ratio 0.1 samples the
rest — about 14 % of the traces are kept. Measured twice on SQLite, OTLP/JSON (what Souk's services
send) and protobuf (external senders) alike:

* in this process: decode + hold (``accept``), then decide + store the kept share (``flush``);
* the whole server, a real ``python -m telemetry`` whose CPU time is read from /proc, from the
  first request until every trace is decided and the kept ones stored. The baseline in the same
  run is the server answering empty export requests; per span is what spans add to that (the
  server's idle CPU while traces settle is measured and taken off too).

    .venv/bin/python bench/telemetry_ingest.py
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from prometheus_client import CollectorRegistry

from chassis.db import migrate, open_database
from chassis.testing import free_port
from telemetry.adapters.metrics import PrometheusTailMetrics
from telemetry.adapters.otlp import JSON, PROTOBUF, decode_export
from telemetry.adapters.sql import trace_unit_of_work
from telemetry.app import MIGRATIONS
from telemetry.domain.holding import Decisions, TraceBuffer
from telemetry.domain.keep import KeepRules
from telemetry.service.tail import TailSampler

SERVICES = ("gateway", "orders", "cart", "inventory", "payments", "notifications", "analytics",
            "catalog", "identity", "registry")
SPANS_PER_SERVICE = 4
TRACES_PER_REQUEST = 40
SPANS_PER_REQUEST = SPANS_PER_SERVICE * TRACES_PER_REQUEST
SETTLE_SECONDS = 3.0  # the default


def workload(batches: int, seed: int = 7) -> list[list[tuple[str, list[dict[str, Any]]]]]:
    """Per batch of 40 traces, one (service, spans) export per service; spans as plain dicts."""
    rng = random.Random(seed)
    start = time.time_ns()
    out = []
    for _ in range(batches):
        exports: dict[str, list[dict[str, Any]]] = {s: [] for s in SERVICES}
        for _ in range(TRACES_PER_REQUEST):
            trace_id = rng.getrandbits(128).to_bytes(16, "big")
            fate = rng.random()  # 1 % fail, 2 % flagged, 1 % slow
            order_id = f"0190a1b2-{rng.getrandbits(16):04x}-7000-8000-000000000000"
            for s_index, service in enumerate(SERVICES):
                for k in range(SPANS_PER_SERVICE):
                    n = s_index * SPANS_PER_SERVICE + k
                    begin = start + n * 1_000_000
                    last = n == len(SERVICES) * SPANS_PER_SERVICE - 1
                    exports[service].append({
                        "trace_id": trace_id, "span_id": (n + 1).to_bytes(8, "big"),
                        "parent": None if n == 0 else (n // 2 + 1).to_bytes(8, "big"),
                        "name": f"POST /v1/step-{n % 7}", "kind": 2 + n % 4, "start": begin,
                        "end": begin + (600_000_000 if fate > 0.99 and n == 0 else 500_000),
                        "error": fate < 0.01 and last, "keep": 0.01 <= fate < 0.03 and last,
                        "attributes": {"http.request.method": "POST",
                                       "http.route": f"/v1/step-{n % 7}",
                                       "http.response.status_code": 200,
                                       "souk.order_id": order_id},
                        "events": [] if k else [("publish orders.OrderPlaced.v1", begin + 1000)]})
            start += 5_000_000
        out.append(list(exports.items()))
    return out


def _json_value(v: Any) -> dict[str, Any]:
    if isinstance(v, bool):
        return {"boolValue": v}
    return {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}


def to_json(service: str, spans: list[dict[str, Any]]) -> bytes:
    """OTLP/JSON, as the chassis' span recorder sends it."""
    def span(s: dict[str, Any]) -> dict[str, Any]:
        attrs = s["attributes"] | ({"souk.keep": True} if s["keep"] else {})
        return {"traceId": s["trace_id"].hex(), "spanId": s["span_id"].hex(),
                "parentSpanId": s["parent"].hex() if s["parent"] else "", "name": s["name"],
                "kind": s["kind"], "startTimeUnixNano": str(s["start"]),
                "endTimeUnixNano": str(s["end"]),
                "attributes": [{"key": k, "value": _json_value(v)} for k, v in attrs.items()],
                "status": {"code": 2, "message": "declined"} if s["error"] else {},
                "events": [{"timeUnixNano": str(t), "name": name} for name, t in s["events"]]}
    return orjson.dumps({"resourceSpans": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}},
                                    {"key": "service.instance.id",
                                     "value": {"stringValue": f"{service}-1"}}]},
        "scopeSpans": [{"scope": {"name": "souk"}, "spans": [span(s) for s in spans]}]}]})


def to_protobuf(service: str, spans: list[dict[str, Any]]) -> bytes:
    """The same spans as an OpenTelemetry SDK's protobuf export."""
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
        ExportTraceServiceRequest,
    )
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

    def kv(key: str, v: Any) -> KeyValue:
        value = (AnyValue(bool_value=v) if isinstance(v, bool) else AnyValue(int_value=v)
                 if isinstance(v, int) else AnyValue(string_value=v))
        return KeyValue(key=key, value=value)

    return ExportTraceServiceRequest(resource_spans=[ResourceSpans(
        resource={"attributes": [kv("service.name", service),
                                 kv("service.instance.id", f"{service}-1")]},
        scope_spans=[ScopeSpans(spans=[Span(
            trace_id=s["trace_id"], span_id=s["span_id"], parent_span_id=s["parent"] or b"",
            name=s["name"], kind=s["kind"], start_time_unix_nano=s["start"],
            end_time_unix_nano=s["end"],
            status=Status(code=2, message="declined") if s["error"] else Status(),
            attributes=[kv(k, v) for k, v in (
                s["attributes"] | ({"souk.keep": True} if s["keep"] else {})).items()],
            events=[Span.Event(name=name, time_unix_nano=t) for name, t in s["events"]])
            for s in spans])])]).SerializeToString()


def bodies(encode: Callable[[str, list[dict[str, Any]]], bytes], batches: int,
           seed: int = 7) -> list[bytes]:
    return [encode(service, spans) for batch in workload(batches, seed)
            for service, spans in batch]


async def in_process(tmp: Path, media_type: str, encode: Callable[..., bytes],
                     batches: int = 24) -> str:
    name = f"in-process-{batches}-{media_type.rsplit('/', 1)[1]}.db"
    url = f"sqlite:///{tmp / name}"
    await migrate(url, MIGRATIONS)
    db = open_database(url)
    await db.connect()
    now = [0.0]
    try:
        sampler = TailSampler(
            trace_unit_of_work(db.transaction), rules=KeepRules(keep_ratio=0.1, slow_ms=500),
            buffer=TraceBuffer(settle_seconds=SETTLE_SECONDS, max_hold_seconds=30,
                               max_spans=10**6),
            decisions=Decisions(50_000), metrics=PrometheusTailMetrics(CollectorRegistry()),
            clock=lambda: now[0])
        requests = bodies(encode, batches)  # 24: 960 traces, 38,400 spans, as the server run
        spans = len(requests) * SPANS_PER_REQUEST
        began = time.process_time()
        for body in requests:
            decoded = decode_export(media_type, body)
            sampler.accept(decoded.fragments, rejected=decoded.rejected)
        held = time.process_time()
        now[0] += SETTLE_SECONDS
        await sampler.flush()
        done = time.process_time()
        async with db.transaction(readonly=True) as tx:
            kept = await tx.fetch_value("SELECT COUNT(*) FROM traces")
        # memory held per span, in a pass of its own (tracemalloc slows everything down)
        others = bodies(encode, 5, seed=8)  # traces not decided yet
        tracemalloc.start()
        for body in others:
            sampler.accept(decode_export(media_type, body).fragments)
        per_span = tracemalloc.get_traced_memory()[0] / (len(others) * SPANS_PER_REQUEST)
        tracemalloc.stop()
    finally:
        await db.close()
    traces = len(requests) // len(SERVICES) * TRACES_PER_REQUEST
    decode_hold = (held - began) / spans * 1e6
    decide_store = (done - held) / spans * 1e6
    return (f"{decode_hold + decide_store:5.1f} µs CPU per span = decode + hold {decode_hold:4.1f}"
            f" + decide + store {decide_store:4.1f}  (kept {kept}/{traces} traces; "
            f"~{per_span:,.0f} bytes held per span)")


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _metrics(http: aiohttp.ClientSession) -> dict[str, float]:
    async with http.get("/metrics") as response:
        text = await response.text()
    return {name: float(value) for name, value in (
        line.rsplit(" ", 1) for line in text.splitlines() if line and not line.startswith("#"))}


async def whole_server(tmp: Path) -> list[str]:
    port = free_port()
    env = {**os.environ, "TELEMETRY_PORT": str(port), "TELEMETRY_LOG_LEVEL": "warning",
           "TELEMETRY_DATABASE_URL": f"sqlite:///{tmp / 'server.db'}",
           "TELEMETRY_REGISTRY_URL": "", "TELEMETRY_NATS_URL": "",
           # its admin routes need a key source to start; nothing here calls them
           "TELEMETRY_JWKS_URL": "http://127.0.0.1:9/v1/jwks",
           "TELEMETRY_MAX_KEPT_PER_SECOND": "0"}  # measure the rules' whole kept share
    proc = subprocess.Popen([sys.executable, "-m", "telemetry"], env=env,  # noqa: ASYNC220
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    lines = []
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}") as http:
            for _ in range(200):
                try:
                    async with http.get("/health/ready") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.05)

            async def post(body: bytes, media_type: str) -> None:
                async with http.post("/v1/traces", data=body,
                                     headers={"Content-Type": media_type}) as response:
                    assert response.status == 200, await response.text()

            wait = SETTLE_SECONDS + 1.5  # every trace settled and decided, kept ones stored
            before, began = _cpu_seconds(proc.pid), time.monotonic()
            await asyncio.sleep(wait)
            idle_per_second = (_cpu_seconds(proc.pid) - before) / (time.monotonic() - began)

            baseline: dict[str, float] = {}
            empty = {JSON: b'{"resourceSpans":[]}', PROTOBUF: b""}
            for seed, (media_type, name, encode) in enumerate(
                    ((JSON, "OTLP/JSON", to_json), (PROTOBUF, "protobuf", to_protobuf)), 11):
                await post(empty[media_type], media_type)  # protobuf: the lazy import
                before = _cpu_seconds(proc.pid)
                for _ in range(1000):
                    await post(empty[media_type], media_type)
                baseline[media_type] = (_cpu_seconds(proc.pid) - before) / 1000 * 1e6
                requests = bodies(encode, 24, seed)  # traces of its own, not late spans
                before, began = _cpu_seconds(proc.pid), time.monotonic()
                for body in requests:
                    await post(body, media_type)
                await asyncio.sleep(wait)
                spent = _cpu_seconds(proc.pid) - before - idle_per_second * (
                    time.monotonic() - began)
                metrics = await _metrics(http)
                assert metrics["souk_telemetry_spans_held"] == 0, "not all decided yet"
                spans = len(requests) * SPANS_PER_REQUEST
                gross = spent / spans * 1e6
                net = (spent - len(requests) * baseline[media_type] / 1e6) / spans * 1e6
                lines.append(
                    f"{name:9s}: empty export {baseline[media_type]:4.0f} µs per request "
                    f"(baseline); 160-span exports {gross:4.1f} µs per span, {net:4.1f} µs net "
                    f"of the baseline = {SPANS_PER_REQUEST * gross / baseline[media_type]:4.1f}x "
                    f"the baseline per request; one core ~{1e6 / gross:,.0f} spans/s")
            kept = {k.split('"')[1]: int(v) for k, v in metrics.items()
                    if k.startswith("souk_telemetry_traces_kept_total{")}
            dropped = sum(int(v) for k, v in metrics.items()
                          if k.startswith("souk_telemetry_traces_dropped_total{"))
            lines.append(f"decisions of both runs: kept {kept}, dropped {dropped}")
    finally:
        proc.terminate()
        proc.wait(10)
    return lines


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="souk-bench-telemetry-") as name:
        tmp = Path(name)
        print("in process, 160-span requests, keep ratio 0.1:")
        for media_type, encode in ((JSON, to_json), (PROTOBUF, to_protobuf)):
            await in_process(tmp, media_type, encode, batches=1)  # warm up: imports, first use
        for media_type, label, encode in ((JSON, "OTLP/JSON", to_json),
                                          (PROTOBUF, "protobuf", to_protobuf)):
            print(f"  {label:9s} {await in_process(tmp, media_type, encode)}")
        print("whole server (python -m telemetry, CPU from /proc), until every trace is decided:")
        for line in await whole_server(tmp):
            print("  " + line)


if __name__ == "__main__":
    asyncio.run(main())
