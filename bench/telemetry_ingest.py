"""What one span costs the embedded trace store (services/telemetry) to ingest, in CPU.

Every service exports ~40 spans per checkout to it, so this says whether it keeps up. Measured
twice on SQLite: decode + store in this process, and the whole server (uvicorn, the chassis
middleware, decode, store) as a real ``python -m telemetry`` process whose CPU time is read from
/proc. The baseline in the same run is the whole server answering an export that holds no spans,
so the per-span figure is what spans add to the request cost.

    .venv/bin/python bench/telemetry_ingest.py
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from chassis.db import migrate, open_database
from chassis.testing import free_port
from telemetry.adapters.otlp import decode_protobuf
from telemetry.adapters.sql import SqlUnitOfWork
from telemetry.app import MIGRATIONS
from telemetry.service.ingest import ingest

SPANS_PER_TRACE = 40


def _kv(key: str, value: str | int) -> KeyValue:
    any_value = AnyValue(string_value=value) if isinstance(value, str) else AnyValue(int_value=value)
    return KeyValue(key=key, value=any_value)


def checkout_batches(batches: int, traces_per_batch: int, first: int = 1) -> list[bytes]:
    """Export bodies of one service, each holding whole 40-span checkout-like traces, with the
    attributes the chassis puts on spans."""
    bodies = []
    start = time.time_ns()
    trace_no = first
    for _ in range(batches):
        spans = []
        for _ in range(traces_per_batch):
            for n in range(SPANS_PER_TRACE):
                spans.append(Span(
                    trace_id=trace_no.to_bytes(16, "big"), span_id=(n + 1).to_bytes(8, "big"),
                    parent_span_id=b"" if n == 0 else (n // 2 + 1).to_bytes(8, "big"),
                    name=f"POST /v1/step-{n % 7}", kind=2 + n % 4,
                    start_time_unix_nano=start + n * 1000, end_time_unix_nano=start + n * 1000 + 500_000,
                    status=Status(code=Status.STATUS_CODE_UNSET),
                    attributes=[_kv("http.request.method", "POST"),
                                _kv("http.route", f"/v1/step-{n % 7}"),
                                _kv("http.response.status_code", 200),
                                _kv("souk.order_id", f"0190a1b2-{trace_no:04x}-7000-8000-000000000000"),
                                _kv("messaging.message.type", "orders.OrderPlaced.v1")]))
            trace_no += 1
        bodies.append(ExportTraceServiceRequest(resource_spans=[ResourceSpans(
            resource={"attributes": [_kv("service.name", "orders"),
                                     _kv("service.instance.id", "orders-1")]},
            scope_spans=[ScopeSpans(spans=spans)])]).SerializeToString())
    return bodies


async def decode_and_store(tmp: Path, traces_per_batch: int) -> float:
    url = f"sqlite:///{tmp / f'telemetry-{traces_per_batch}.db'}"
    await migrate(url, MIGRATIONS)
    db = open_database(url)
    await db.connect()
    try:
        uow = SqlUnitOfWork(db)
        await ingest(uow, decode_protobuf(checkout_batches(1, 1, first=10**6)[0]).spans)  # warm up
        bodies = checkout_batches(max(1, 240 // traces_per_batch), traces_per_batch)
        began = time.process_time()
        for body in bodies:
            await ingest(uow, decode_protobuf(body).spans)
        spent = time.process_time() - began
    finally:
        await db.close()
    return spent / (len(bodies) * traces_per_batch * SPANS_PER_TRACE) * 1e6


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def whole_server(tmp: Path) -> tuple[float, float]:
    """(µs CPU per empty export request, µs CPU per span in 160-span requests)."""
    port = free_port()
    env = {**os.environ, "TELEMETRY_PORT": str(port), "TELEMETRY_LOG_LEVEL": "warning",
           "TELEMETRY_DATABASE_URL": f"sqlite:///{tmp / 'server.db'}",
           "TELEMETRY_REGISTRY_URL": "", "TELEMETRY_NATS_URL": ""}
    proc = subprocess.Popen([sys.executable, "-m", "telemetry"], env=env,  # noqa: ASYNC220
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    headers = {"Content-Type": "application/x-protobuf"}
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
            empty = ExportTraceServiceRequest().SerializeToString()
            before = _cpu_seconds(proc.pid)
            for _ in range(500):
                async with http.post("/v1/traces", data=empty, headers=headers) as response:
                    assert response.status == 200
            per_request = (_cpu_seconds(proc.pid) - before) / 500 * 1e6
            bodies = checkout_batches(60, 4)  # 160 spans per request, 9600 spans
            before = _cpu_seconds(proc.pid)
            for body in bodies:
                async with http.post("/v1/traces", data=body, headers=headers) as response:
                    assert response.status == 200
            spent = _cpu_seconds(proc.pid) - before
    finally:
        proc.terminate()
        proc.wait(10)
    return per_request, spent / (60 * 4 * SPANS_PER_TRACE) * 1e6


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="souk-bench-telemetry-") as name:
        tmp = Path(name)
        for traces in (1, 12):
            cost = await decode_and_store(tmp, traces)
            print(f"decode + store, {traces * SPANS_PER_TRACE:4d} spans/request: "
                  f"{cost:6.1f} µs CPU per span")
        per_request, per_span = await whole_server(tmp)
    print(f"whole server: empty export {per_request:.0f} µs per request (baseline); "
          f"160-span exports {per_span:.1f} µs per span "
          f"= {160 * per_span / per_request:.1f}x the baseline per request; "
          f"one core ingests ~{1e6 / per_span:,.0f} spans/s")


if __name__ == "__main__":
    asyncio.run(main())
