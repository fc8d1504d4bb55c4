"""Two catalog processes started at once on one database: both migrate and seed, nothing twice.

Real OS processes (``python -m catalog``, as the launcher runs it), because within one process the
SQLite units of work never interleave and the race would not be exercised.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
import pytest

from chassis.testing import free_port

pytestmark = pytest.mark.integration

DEMO_PRODUCT_COUNT = 72
START_TIMEOUT = 60.0


@asynccontextmanager
async def catalog_processes(database_url: str, jwks_url: str,
                            logs: list[Path]) -> AsyncIterator[list[str]]:
    """Launch one ``python -m catalog`` per log file, all at once; yield their base URLs when all
    are ready; stop them with SIGTERM."""
    processes: list[asyncio.subprocess.Process] = []
    ports = [free_port() for _ in logs]
    try:
        for port, log in zip(ports, logs, strict=True):
            env = {**os.environ, "CATALOG_DATABASE_URL": database_url, "CATALOG_PORT": str(port),
                   "CATALOG_SEED_DEMO": "true", "CATALOG_NATS_URL": "", "CATALOG_REGISTRY_URL": "",
                   "CATALOG_JWKS_URL": jwks_url,
                   "CATALOG_LOG_LEVEL": "info", "CATALOG_LOG_FORMAT": "json"}
            with log.open("wb") as out:
                processes.append(await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "catalog", env=env, stdout=out,
                    stderr=asyncio.subprocess.STDOUT))
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        await asyncio.gather(*(wait_ready(url, process, log)
                               for url, process, log in zip(urls, processes, logs, strict=True)))
        yield urls
    finally:
        for process in processes:
            if process.returncode is None:
                process.terminate()
        for process in processes:
            await asyncio.wait_for(process.wait(), 10)


async def wait_ready(base_url: str, process: asyncio.subprocess.Process, log: Path) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + START_TIMEOUT
    async with aiohttp.ClientSession(base_url) as session:
        while loop.time() < deadline:
            if process.returncode is not None:
                pytest.fail(f"catalog exited with {process.returncode}:\n{output(log)}")
            try:
                async with session.get("/health/ready") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)
    pytest.fail(f"catalog not ready after {START_TIMEOUT}s:\n{output(log)}")


def output(log: Path) -> str:
    return log.read_text()


def seeded_counts(log: Path) -> list[int]:
    return [event["products_added"] for event in map(json.loads, output(log).splitlines())
            if event.get("event") == "demo catalog seeded"]


async def test_two_instances_starting_together_migrate_and_seed_once(
        database_url: str, jwks_url: str, tmp_path: Path) -> None:
    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    async with catalog_processes(database_url, jwks_url, logs) as urls:
        for base_url in urls:
            async with (aiohttp.ClientSession(base_url) as session,
                        session.get("/v1/products", params={"limit": 100}) as response):
                assert response.status == 200
                skus = [p["sku"] for p in (await response.json())["items"]]
            assert len(skus) == len(set(skus)) == DEMO_PRODUCT_COUNT
    # each instance seeded (no error), and between them they added every product exactly once
    added = [seeded_counts(log) for log in logs]
    assert [len(counts) for counts in added] == [1, 1], [output(log) for log in logs]
    assert sum(counts[0] for counts in added) == DEMO_PRODUCT_COUNT
