"""Every integration test runs on SQLite (a file in tmp_path) and on PostgreSQL (a fresh database
on ``SOUK_TEST_POSTGRES_URL``; skipped with the reason when that is unset)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from chassis.testing import serve_app, temporary_database
from identity.app import create_app
from identity.settings import IdentitySettings

ADMIN_EMAIL = "admin@souk.local"
ADMIN_PASSWORD = "admin passphrase for tests"
SERVICE_SECRETS = {"orders": "orders-secret-value", "cart": "cart-secret-value"}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    async with temporary_database(request.param, tmp_path, "identity") as url:
        yield url


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass(frozen=True)
class RunningIdentity:
    http: aiohttp.ClientSession  # base URL set
    database_url: str

    async def call(self, method: str, path: str, body: Any = None, token: str | None = None,
                   ) -> Reply:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.request(method, path, json=body, headers=headers) as response:
            return Reply(response.status, dict(response.headers), await response.read())

    async def sign_up(self, email: str, password: str, **extra: Any) -> Reply:
        return await self.call("POST", "/v1/signup", {"email": email, "password": password, **extra})

    async def log_in(self, email: str, password: str) -> Reply:
        return await self.call("POST", "/v1/login", {"email": email, "password": password})

    async def token(self, email: str, password: str) -> str:
        reply = await self.log_in(email, password)
        assert reply.status == 200, reply.body
        token: str = reply.json()["access_token"]
        return token


Start = Callable[..., Awaitable[RunningIdentity]]


@pytest.fixture
async def start_identity(database_url: str, tmp_path: Path) -> AsyncIterator[Start]:
    """Start identity (any settings overridden) under uvicorn; all are stopped afterwards."""
    credentials = tmp_path / "service-credentials.json"
    credentials.write_text(json.dumps({name: hashlib.sha256(secret.encode()).hexdigest()
                                       for name, secret in SERVICE_SECRETS.items()}))
    async with AsyncExitStack() as stack:
        async def start(**overrides: Any) -> RunningIdentity:
            settings = IdentitySettings(**{
                "database_url": database_url, "log_level": "warning", "nats_url": "",
                "registry_url": "", "bootstrap_admin_email": ADMIN_EMAIL,
                "bootstrap_admin_password": ADMIN_PASSWORD,
                "service_credentials_file": str(credentials),
                "login_max_failures_per_client": 50, **overrides})
            base_url = await stack.enter_async_context(serve_app(create_app(settings)))
            session = await stack.enter_async_context(aiohttp.ClientSession(base_url))
            return RunningIdentity(session, database_url)

        yield start


@pytest.fixture
async def identity(start_identity: Start) -> RunningIdentity:
    return await start_identity()
