"""Runs the real platform with ``souk up`` in a temporary home on free ports, on either engine.

The engine dimension: the module-scoped ``engine`` fixture is ``sqlite`` (a SQLite file per
service in the home) or ``postgres`` (``[platform] postgres``: a database per service on the
server of ``SOUK_TEST_POSTGRES_URL``, under a fresh prefix ``souk_systest_<random>``, dropped with
``souk down --purge`` afterwards, and by prefix should that leave any). The ``postgres``
parameter is marked ``postgres`` and skips with the reason when ``SOUK_TEST_POSTGRES_URL`` is
unset. A module's platform fixture takes ``engine`` and hands it to :func:`launch`, so every test
of the module runs once per engine (``[sqlite]``, ``[postgres]``), on a platform of that engine.

Every module that starts a platform with databases runs on both engines, except these, which run
on one, with the reason:

* test_nats_cluster.py (SQLite): what it proves is the broker's replication (three nodes, the
  stream leader and a follower killed during checkouts, three replicas of every stream, bucket
  and consumer); the services and their databases are the same as in the single-node modules,
  which run on both engines.
* test_database_faults.py (PostgreSQL): a SQLite file has no network to cut.
* test_postgres_platform.py (PostgreSQL): two instances of a service sharing its database is
  what a server allows and a SQLite file does not.
* test_availability.py (SQLite): on PostgreSQL a broker cut during checkouts is
  test_faults.py's (payments cut from the broker, then healed, ends clean) and kills during a
  load are test_checkout.py's, both on both engines; the minute without the broker costs CI
  80 s an engine.
* test_live_config.py (SQLite): live settings are kept in the broker's key-value store and the
  services' caches, not in a database.
* test_web_console.py, test_web_session.py, test_web_accessibility.py (SQLite): the front end's
  pages, which read the services over HTTP; test_web_storefront.py runs on both, so the web
  process's own database (its sessions) and a checkout from the browser are proven on
  PostgreSQL too. (The CI budget on a slower machine, decision 79.)

test_admin_routes.py and test_deploy_files.py start no platform (they read the route table and
the deploy files).

Shared platforms (the CI budget, decision 73): the modules of ``checkout_platform.SHARED`` share
one platform per group and engine instead of starting their own; the hooks below run a group's
tests together, engine by engine, and stop its platform after the last of them.

Platforms side by side (decision 109): every test is marked with its platform as its
``xdist_group`` (a shared group and engine, else its module and engine), so `make test` runs the
system tests in two processes (``-n 2 --dist loadgroup``), each platform's tests in one of them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from chassis.testing import postgres_url_or_skip_reason
from souk.home import Home
from souk.state import pid_alive, read_state

ROOT = Path(__file__).resolve().parents[2]
SOUK = [sys.executable, "-m", "souk.main"]
ENGINES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
ENGINE_NAMES = ["sqlite", "postgres"]
T = TypeVar("T")
PREFIX = "souk_systest_"  # the test platforms' databases on the PostgreSQL server


@dataclass
class Platform:
    home: Path
    gateway: str
    engine: str = "sqlite"

    def souk(self, *args: str, timeout: float = 120, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([*SOUK, *args, "--home", str(self.home)], cwd=ROOT, text=True,
                              capture_output=True, timeout=timeout, env={**os.environ, "NO_COLOR": "1"})
        if check and proc.returncode != 0:
            raise AssertionError(f"souk {' '.join(args)} exited {proc.returncode}\n"
                                 f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
        return proc

    def status(self) -> list[dict[str, Any]]:
        out = self.souk("status", "--json", check=False).stdout
        return list(json.loads(out))

    def url_of(self, service: str) -> str:
        """The first instance of ``service``'s URL, from the supervisor's state file: what
        `souk status` shows, without the readiness probes of every process it makes first
        (~0.9 s a call, and tests ask for URLs in loops)."""
        state = read_state(Home(self.home).state_file)
        assert state is not None, f"no platform state in {self.home}"
        return min(state.of_service(service), key=lambda proc: proc.slot).url

    def process(self, instance: str) -> dict[str, Any]:
        return next(p for p in self.status() if p["instance"] == instance)

    def wait_ready(self, instance: str, *, other_than_pid: int,
                   timeout: float) -> tuple[dict[str, Any], float]:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            proc = self.process(instance)
            if proc["ready"] and proc["pid"] != other_than_pid:
                return proc, time.monotonic() - start
            time.sleep(0.05)
        raise AssertionError(f"{instance} not back and ready within {timeout}s: {self.process(instance)}")


def on_engine(topology_text: str, engine: str, prefix: str) -> str:
    """``topology_text`` on ``engine``: as it is for ``sqlite``; for ``postgres`` with
    ``[platform] postgres`` (the test server) and ``postgres_prefix = prefix``."""
    if engine == "sqlite":
        return topology_text
    if engine != "postgres":
        raise ValueError(f"unknown engine {engine!r}")
    assert topology_text.count("[platform]\n") == 1, "a topology needs one [platform] table"
    return topology_text.replace(
        "[platform]\n", f'[platform]\npostgres = "{postgres_server()}"\npostgres_prefix = "{prefix}"\n', 1)


def postgres_server() -> str:
    """``SOUK_TEST_POSTGRES_URL``; the test skips, with the reason, when it is unset."""
    server, reason = postgres_url_or_skip_reason()
    if server is None:
        pytest.skip(reason)
    return server


async def _drop_prefixed(server: str, prefix: str) -> list[str]:
    """Drop every database named ``<prefix>_…`` on ``server``; return their names."""
    import asyncpg

    from chassis.db.postgres import asyncpg_dsn
    from souk.postgres import drop_databases

    conn = await asyncpg.connect(asyncpg_dsn(server))
    try:
        rows = await conn.fetch("SELECT datname FROM pg_database WHERE starts_with(datname, $1)",
                                prefix + "_")
    finally:
        await conn.close()
    return await drop_databases(server, [str(row["datname"]) for row in rows])


def _apart(work: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(work)`` in a thread of its own: a teardown may run where an event loop is
    running already (Playwright's sync API keeps one in the test's thread)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work).result()


@contextlib.contextmanager
def launch(home: Path, topology_text: str, gateway_port: int,
           engine: str = "sqlite") -> Iterator[Platform]:
    """`souk up` a topology in ``home`` on ``engine``; `souk down` (and SIGKILL leftovers)
    afterwards, on PostgreSQL with `--purge`, then a drop of whatever still bears the platform's
    prefix (a failed start); a database `--purge` left is an error of the teardown."""
    prefix = PREFIX + uuid.uuid4().hex[:10]  # nothing else on the server has it
    topology = home / "souk.toml"
    topology.write_text(on_engine(topology_text, engine, prefix))
    plat = Platform(home=home, gateway=f"http://127.0.0.1:{gateway_port}", engine=engine)
    passed = False
    try:
        plat.souk("up", "--topology", str(topology), "--timeout", "90", timeout=150)
        yield plat
        passed = True
    finally:
        pids = [p["pid"] for p in plat.status() if p.get("pid")]
        down = plat.souk("down", *(["--purge"] if engine == "postgres" else []), check=False,
                         timeout=60)
        for pid in pids:
            if pid_alive(pid):
                os.kill(pid, 9)
        left = _apart(_drop_prefixed(postgres_server(), prefix)) if engine == "postgres" else []
    assert not passed or (down.returncode == 0 and not left), (
        f"souk down exited {down.returncode}, left databases {left}\n{down.stdout[-2000:]}"
        f"\n{down.stderr[-2000:]}")


def _engine(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        postgres_server()
    return str(request.param)


@pytest.fixture(scope="module", params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    """The platform's database engine for a test module: ``sqlite`` or ``postgres`` (skipped,
    with the reason, without ``SOUK_TEST_POSTGRES_URL``)."""
    return _engine(request)


def only_on(name: str) -> Any:
    """The ``engine`` fixture of a module that runs on engine ``name`` only (``engine =
    only_on("postgres")`` in the module; the reason in this file's docstring)."""
    params = [ENGINES[ENGINE_NAMES.index(name)]]

    @pytest.fixture(scope="module", params=params)
    def engine(request: pytest.FixtureRequest) -> str:
        return _engine(request)

    return engine


FOUNDATION_TOPOLOGY = """
[platform]
host = "127.0.0.1"
gateway_port = {gateway_port}

[services.registry]
instances = 1
database = true

[services.identity]
instances = 1
database = true

[services.catalog]
instances = 2
database = true

# the front end answers every path outside /api (the gateway's root route)
[services.web]
instances = 1
database = true

[services.gateway]
instances = 1
database = false
"""


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory, engine: str) -> Platform:
    """The foundation (registry, identity, two catalogs, the front end, the gateway) on
    ``engine``, shared by the modules of the "foundation" group (checkout_platform.SHARED)."""
    from .checkout_platform import shared_shop

    return shared_shop(tmp_path_factory, engine, "foundation", FOUNDATION_TOPOLOGY).platform


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium under Playwright for a browser test module (tests/system/web_platform.py;
    the module is skipped, with the reason, where chromium is missing)."""
    from .web_platform import chromium

    with chromium() as launched:
        yield launched


def _engine_of(item: pytest.Item) -> str:
    callspec = getattr(item, "callspec", None)
    return str(callspec.params.get("engine", "sqlite")) if callspec is not None else "sqlite"


def _shared_key(item: pytest.Item | None) -> tuple[int, int, int] | None:
    """(group, engine, module) places of a test on a shared platform
    (checkout_platform.SHARED), else None."""
    from .checkout_platform import SHARED

    if item is None or item.path.stem not in SHARED or item.path.parent != Path(__file__).parent:
        return None
    groups = list(dict.fromkeys(SHARED.values()))
    return (groups.index(SHARED[item.path.stem]), ENGINE_NAMES.index(_engine_of(item)),
            list(SHARED).index(item.path.stem))


def pytest_itemcollected(item: pytest.Item) -> None:
    """Mark a test with the platform it runs on as its ``xdist_group``: a shared platform's
    group and engine, else its module and engine. Under ``pytest -n 2 --dist loadgroup`` (`make
    test`'s second phase) a platform's tests then run in one worker, in the order below, and two
    platforms run side by side (most of a system test is waiting: a platform starting, a load
    draining, a process restarting). Marked as collected, before xdist reads the marks."""
    from .checkout_platform import SHARED

    if item.path.parent == Path(__file__).parent:
        owner = SHARED.get(item.path.stem, item.path.stem)
        item.add_marker(pytest.mark.xdist_group(f"{owner}-{_engine_of(item)}"))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The tests on shared platforms, together where the first of them was: group by group,
    engine by engine (sqlite first), module by module in SHARED's order; every other test keeps
    its place."""
    shared = [(_shared_key(item), n, item) for n, item in enumerate(items)]
    shared = [(key, n, item) for key, n, item in shared if key is not None]
    if not shared:
        return
    first = shared[0][1]
    rest = [item for item in items if _shared_key(item) is None]
    before = sum(1 for item in items[:first] if _shared_key(item) is None)
    items[:] = (rest[:before] + [item for _, _, item in sorted(shared, key=lambda e: (e[0], e[1]))]
                + rest[before:])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After the last test on a shared platform, stop it (its modules' fixtures are torn down
    by then)."""
    yield
    key = _shared_key(item)
    following = _shared_key(nextitem)
    if key is not None and (following is None or following[:2] != key[:2]):
        from .checkout_platform import SHARED, close_shared

        close_shared(SHARED[item.path.stem], _engine_of(item))


def pytest_sessionfinish() -> None:
    from .checkout_platform import close_shared

    close_shared()
