"""``souk up --postgres URL`` on stand-in services and a real PostgreSQL server: each stateful
service gets its own database, created at start and named after the home; ``souk down`` keeps
them (and the next ``souk up`` of the home finds them), ``souk down --purge`` drops them. Needs
``SOUK_TEST_POSTGRES_URL``."""

from __future__ import annotations

import asyncio
import json

import pytest

from chassis.testing import postgres_url_or_skip_reason

from .conftest import Factory

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


def _databases(server: str, like: str) -> set[str]:
    import asyncpg

    from chassis.db.postgres import asyncpg_dsn

    async def query() -> set[str]:
        conn = await asyncpg.connect(asyncpg_dsn(server))
        try:
            rows = await conn.fetch("SELECT datname FROM pg_database WHERE datname LIKE $1", like)
        finally:
            await conn.close()
        return {row["datname"] for row in rows}

    return asyncio.run(query())


@pytest.fixture
def server() -> str:
    url, reason = postgres_url_or_skip_reason()
    if url is None:
        pytest.skip(reason)
    return url


def test_each_stateful_service_gets_its_own_database_kept_by_down_dropped_by_purge(
        souk_factory: Factory, server: str) -> None:
    souk = souk_factory(workers=2)
    try:
        up = souk.up("--postgres", server)
        assert up.returncode == 0, up.stdout + up.stderr
        record = json.loads((souk.home / "data" / "postgres.json").read_text())
        assert record["server"] == server
        names = record["databases"]
        assert sorted(names) == ["registry", "worker"]  # the gateway has no database
        prefix = names["worker"].removesuffix("_worker")
        assert prefix.startswith("souk_") and names["registry"] == f"{prefix}_registry"
        assert _databases(server, f"{prefix}_%") == set(names.values())
        for slot in (1, 2):  # both instances share the service's database
            started = json.loads(
                (souk.home / "logs" / f"worker-{slot}.log").read_text().splitlines()[0])
            assert started["database_url"].endswith(f"/{names['worker']}")
        assert "postgres" in up.stdout and "souk down --purge" in up.stdout

        assert souk.run("down").returncode == 0
        assert _databases(server, f"{prefix}_%") == set(names.values())

        again = souk.up()  # no --postgres: the home remembers where its data is
        assert again.returncode == 0, again.stdout + again.stderr
        worker_lines = [json.loads(line) for line in
                        (souk.home / "logs" / "worker-1.log").read_text().splitlines()]
        last_start = [line for line in worker_lines if line.get("event") == "service started"][-1]
        assert last_start["database_url"].endswith(f"/{names['worker']}")

        purge = souk.run("down", "--purge")
        assert purge.returncode == 0, purge.stdout + purge.stderr
        assert f"dropped database {names['worker']}" in purge.stdout
        assert _databases(server, f"{prefix}_%") == set()
        assert not (souk.home / "data" / "postgres.json").exists()
    finally:
        souk.run("down", "--purge")


def test_an_unreachable_server_fails_start_up_naming_it_without_its_password(
        souk_factory: Factory) -> None:
    souk = souk_factory(workers=1)

    up = souk.up("--postgres", "postgresql://souk:hunter2@127.0.0.1:1/postgres")

    assert up.returncode == 1
    output = up.stdout + up.stderr
    assert "cannot connect to PostgreSQL at postgresql://souk:***@127.0.0.1:1/postgres" in output
    assert "hunter2" not in output
