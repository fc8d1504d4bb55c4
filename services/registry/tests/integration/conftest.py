"""The registry under test: the real app on uvicorn over real SQLite/PostgreSQL (the chassis's
``database_url`` runs each test on both), called over real HTTP."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from chassis import ServiceSettings, create_service_app
from chassis.testing import free_port, serve_app
from chassis.web import App
from registry.app import create_app
from registry.settings import RegistrySettings

# each service's secret, as `souk up` generates them; the registry gets their SHA-256 only
SECRETS = {"catalog": "catalog-secret-value", "identity": "identity-secret-value"}


def registry_settings(database_url: str, port: int, credentials: Path,
                      **overrides: Any) -> RegistrySettings:
    values: dict[str, Any] = {"port": port, "database_url": database_url, "log_level": "warning",
                              "check_interval": 0.2, "check_timeout": 0.5, "ttl": 3.0,
                              "service_credentials_file": str(credentials)}
    return RegistrySettings(**{**values, **overrides})


def as_service(name: str, secret: str | None = None) -> dict[str, str]:
    """The headers of a request made with ``name``'s credential (or ``secret`` in its place)."""
    return {"Authorization": aiohttp.encode_basic_auth(
        name, SECRETS[name] if secret is None else secret)}


@pytest.fixture
def credentials(tmp_path: Path) -> Path:
    path = tmp_path / "service-credentials.json"
    path.write_text(json.dumps({name: hashlib.sha256(secret.encode()).hexdigest()
                                for name, secret in SECRETS.items()}))
    return path


StartRegistry = Callable[..., AbstractAsyncContextManager[str]]


@pytest.fixture
def registry_port() -> int:
    return free_port()


@pytest.fixture
def start_registry(database_url: str, registry_port: int, credentials: Path) -> StartRegistry:
    """``async with start_registry() as url:`` — a run of the registry on the same port and
    database (a restart is a second ``async with``), settings changed by keyword."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[str]:
        values = {"database_url": database_url, **overrides}
        app = create_app(registry_settings(port=registry_port, credentials=credentials, **values))
        async with serve_app(app, port=registry_port) as url:
            yield url

    return start


@pytest.fixture
async def registry_url(start_registry: StartRegistry) -> AsyncIterator[str]:
    async with start_registry() as url:
        yield url


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A session that speaks as the catalog (its credential on every request)."""
    async with aiohttp.ClientSession(headers=as_service("catalog")) as session:
        yield session


def service_app(registry_url: str, name: str, port: int, heartbeat: float = 0.3) -> App:
    """Any service on the chassis: it registers itself once ready, heartbeats, deregisters."""
    settings = ServiceSettings(service_name=name, port=port, instance_id=f"{name}-{port}",
                               registry_url=registry_url, heartbeat_interval=heartbeat,
                               service_secret=SECRETS.get(name, ""), log_level="warning")
    return create_service_app(settings, title=name, use_broker=False)


async def listed(http: aiohttp.ClientSession, registry_url: str, service: str,
                 status: str = "any") -> list[dict[str, Any]]:
    async with http.get(f"{registry_url}/v1/services/{service}/instances",
                        params={"status": status}) as r:
        assert r.status == 200
        items: list[dict[str, Any]] = (await r.json())["items"]
        return items
