"""The fault proxy: a small asyncio TCP proxy between services and the broker (or PostgreSQL),
so that the network between them can be cut or slowed on purpose (``souk fault partition``,
``slow``, ``heal``). There is no kernel ``netem`` here, and no packaged Toxiproxy (neither PyPI
nor Debian ships its server); this is the few dozen lines of it the platform needs.

One listener per (service, target): ``payments`` → ``broker`` listens on a port of its own and
forwards to nats-server; every instance of payments is given that port as its NATS URL. A link
is healthy (bytes copied both ways), partitioned (its open connections cut and its port closed,
so new connections are refused and the client reconnects in vain), or slow (every chunk, both ways,
delivered ``ms`` later, in order, without limiting throughput).

The faults live in ``<home>/run/net-faults.json`` (``{"rev": N, "faults": {service: {target:
{"mode": "partition"|"slow", "ms": N}}}}``), written by the CLI and watched here, so a restarted
proxy applies them again. ``GET /v1/links`` (and ``/health/*``) on its control port says which
links exist and which revision of the file is applied.
Run it as ``python -m souk.fault_proxy --control-port N --faults FILE --link
service:target:listen_port:upstream_host:upstream_port ...`` (the supervisor does).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

__all__ = ["Link", "LinkFault", "Proxy", "main", "parse_link"]

WATCH_EVERY = 0.1  # seconds between looks at the faults file
CHUNK = 64 * 1024


@dataclass(frozen=True)
class LinkFault:
    mode: str  # "partition" | "slow"
    ms: float = 0.0


@dataclass
class Link:
    """One listener: what ``service`` believes is its ``target``."""

    service: str
    target: str
    listen_port: int
    upstream_host: str
    upstream_port: int
    fault: LinkFault | None = None
    _open: set[asyncio.StreamWriter] = field(default_factory=set)
    _serving: set[asyncio.Task[Any]] = field(default_factory=set)
    _server: asyncio.Server | None = None

    @property
    def name(self) -> str:
        return f"{self.service}:{self.target}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.listen_port)

    async def listen(self) -> None:
        """Take the port again after a partition (retried on the next look if it fails)."""
        if self._server is None and not self.partitioned:
            await self.start()

    @property
    def partitioned(self) -> bool:
        return self.fault is not None and self.fault.mode == "partition"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        self.cut()
        await asyncio.gather(*self._serving, return_exceptions=True)
        await asyncio.sleep(0)  # the aborted transports close their sockets on the next turn

    def apply(self, fault: LinkFault | None) -> None:
        if fault == self.fault:
            return
        self.fault = fault
        if self.partitioned:
            if self._server is not None:
                self._server.close()  # refused from now on
                self._server = None
            self.cut()

    def cut(self) -> None:
        """Close every connection open through this link, both sides, without a goodbye."""
        for writer in list(self._open):
            _drop(writer)
        self._open.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._serving.add(task)
            task.add_done_callback(self._serving.discard)
        if self.partitioned:
            _drop(writer)
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(self.upstream_host,
                                                                 self.upstream_port)
        except OSError:
            _drop(writer)
            return
        if self.partitioned:  # cut while connecting
            _drop(writer)
            _drop(up_writer)
            return
        self._open.update((writer, up_writer))
        try:
            await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer),
                                 return_exceptions=True)
        finally:
            for w in (writer, up_writer):
                self._open.discard(w)
                _drop(w)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Copy one direction; while the link is slow, each chunk leaves ``ms`` after it came
        (a queue keeps the order and lets chunks be in flight together). When this side ends
        (closed or reset), the other side is closed too: neither NATS nor PostgreSQL half-closes."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    return
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()

        delivering = asyncio.create_task(deliver())
        try:
            while True:
                data = await reader.read(CHUNK)
                fault = self.fault
                delay = fault.ms / 1000 if fault is not None and fault.mode == "slow" else 0.0
                queue.put_nowait((time.monotonic() + delay, data))
                if not data:
                    break
            await delivering
        finally:
            delivering.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await delivering
            _drop(writer)


def log(level: str, event: str, **fields: Any) -> None:
    """One JSON line, shaped like every service's (souk logs merges them)."""
    print(orjson.dumps({"ts": datetime.now(UTC).isoformat(), "level": level, "event": event,
                        "service": "faultproxy", "instance": "faultproxy-1", **fields},
                       default=str).decode(), flush=True)


def _drop(writer: asyncio.StreamWriter) -> None:
    """Close a connection at once (unsent bytes are lost, as on a cut cable)."""
    writer.transport.abort()
    writer.close()


def parse_link(text: str) -> Link:
    service, target, listen, host, port = text.split(":")
    return Link(service, target, int(listen), host, int(port))


def read_faults(path: Path) -> tuple[int, dict[str, dict[str, LinkFault]]]:
    """(revision, service → target → fault) from the faults file; (0, {}) when absent."""
    try:
        data: Any = orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return 0, {}
    faults: dict[str, dict[str, LinkFault]] = {}
    for service, targets in (data.get("faults") or {}).items():
        for target, spec in targets.items():
            faults.setdefault(service, {})[target] = LinkFault(spec["mode"],
                                                               float(spec.get("ms", 0)))
    return int(data.get("rev", 0)), faults


class Proxy:
    """Every link of the platform, and the watcher of the faults file."""

    def __init__(self, links: list[Link], faults_file: Path) -> None:
        self.links = links
        self.faults_file = faults_file
        self.rev = -1
        self._mtime = -1

    async def start(self) -> None:
        self.look()
        for link in self.links:
            await link.listen()

    async def refresh(self) -> None:
        """Apply the faults file if it changed; listen again where a partition ended."""
        self.look()
        for link in self.links:
            try:
                await link.listen()
            except OSError as exc:  # taken meanwhile: tried again on the next look
                log("error", "cannot listen again", link=link.name, error=repr(exc))

    def look(self) -> None:
        try:
            mtime = self.faults_file.stat().st_mtime_ns
        except FileNotFoundError:
            mtime = 0
        if mtime == self._mtime:
            return
        try:
            rev, faults = read_faults(self.faults_file)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log("error", "faults file unreadable", error=repr(exc))
            return
        self._mtime = mtime
        for link in self.links:
            link.apply(faults.get(link.service, {}).get(link.target))
        self.rev = rev
        log("info", "network faults applied", rev=rev, faults={
            link.name: link.fault.__dict__ for link in self.links if link.fault is not None})

    async def watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_EVERY)
            await self.refresh()

    def describe(self) -> dict[str, Any]:
        return {"rev": self.rev, "links": [
            {"service": link.service, "target": link.target, "port": link.listen_port,
             "fault": None if link.fault is None else link.fault.__dict__}
            for link in self.links]}


async def _run(args: argparse.Namespace) -> None:
    proxy = Proxy([parse_link(text) for text in args.link], Path(args.faults))
    await proxy.start()

    async def links(_: web.Request) -> web.Response:
        await proxy.refresh()
        return web.json_response(proxy.describe(), dumps=lambda o: orjson.dumps(o).decode())

    app = web.Application()
    for path in ("/v1/links", "/health/live", "/health/ready"):
        app.router.add_get(path, links)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", args.control_port).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    watcher = asyncio.create_task(proxy.watch())
    log("info", "fault proxy started", pid=os.getpid(),
        links=[link.name for link in proxy.links])
    await stop.wait()
    watcher.cancel()
    for link in proxy.links:
        await link.close()
    await runner.cleanup()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m souk.fault_proxy")
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--faults", required=True, help="the faults file to watch")
    parser.add_argument("--link", action="append", default=[],
                        help="service:target:listen_port:upstream_host:upstream_port")
    asyncio.run(_run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
