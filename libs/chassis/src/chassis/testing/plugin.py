"""The fixtures every Souk test suite shares (a pytest plugin, registered by the chassis).

* ``database_url`` — each test runs twice: on a SQLite file and on a fresh PostgreSQL database
  (marked ``postgres``; skipped with the reason when ``SOUK_TEST_POSTGRES_URL`` is unset);
* ``sqlite_url`` — a SQLite file only;
* ``nats_url`` — a real nats-server with JetStream, on a free port, for this test;
* ``issuer`` — a :class:`~chassis.testing.TestIssuer` (tokens and forgeries);
* ``jwks_url`` — the issuer's keys served over HTTP as identity serves them, for a service
  process started with ``<NAME>_JWKS_URL`` (one that cannot verify tokens does not start).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from chassis import clock
from chassis.testing import TestIssuer, nats_server, serve_app, temporary_database
from chassis.web import App, Media, Response, Router, json_response


@pytest.fixture(autouse=True)
def _host_clock() -> Iterator[None]:
    """Every test starts and ends on the host's clock: a skew a test switched on (``clock_skew``
    is process-wide in ``chassis.clock``) must not move the next test's time."""
    clock.set_skew(0.0)
    yield
    clock.set_skew(0.0)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with temporary_database(request.param, tmp_path, "service") as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'service.db'}"


@pytest.fixture
def nats_url() -> Iterator[str]:
    with nats_server() as url:
        yield url


@pytest.fixture(scope="session")
def issuer() -> TestIssuer:
    return TestIssuer()


@pytest.fixture
async def jwks_url(issuer: TestIssuer) -> AsyncIterator[str]:
    router = Router()

    @router.get("/v1/jwks", responses={200: Media("application/json", "the signing keys")})
    async def jwks() -> Response:
        return json_response(issuer.jwks())

    keys = App(title="test identity keys")
    keys.include(router)
    async with serve_app(keys) as url:
        yield url + "/v1/jwks"
