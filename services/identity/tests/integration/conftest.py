"""Identity under test: the real app on uvicorn over real SQLite/PostgreSQL (the chassis's
``database_url`` runs each test on both), called over real HTTP with the tokens identity itself
issues (it trusts no other issuer)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from chassis.testing import TestIssuer
from chassis.testing.service import Reply, RunningService, start_service
from identity.app import create_app
from identity.settings import IdentitySettings

ADMIN_EMAIL = "admin@souk.local"
ADMIN_PASSWORD = "admin passphrase for tests"
SERVICE_SECRETS = {"orders": "orders-secret-value", "cart": "cart-secret-value",
                   "gateway": "gateway-secret-value"}
PROBLEM = "application/problem+json"


class RunningIdentity(RunningService):
    database_url: str = ""

    async def send(self, method: str, path: str, body: Any = None, token: str | None = None,
                   headers: dict[str, str] | None = None) -> Reply:
        """``token``: an access token identity issued (None: no Authorization header)."""
        sent = {**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})}
        return await self.call(method, path, body, user=None, headers=sent)

    async def sign_up(self, email: str, password: str, **extra: Any) -> Reply:
        return await self.send("POST", "/v1/signup",
                               {"email": email, "password": password, **extra})

    async def log_in(self, email: str, password: str) -> Reply:
        return await self.send("POST", "/v1/login", {"email": email, "password": password})

    async def token(self, email: str, password: str) -> str:
        reply = await self.log_in(email, password)
        assert reply.status == 200, reply.body
        token: str = reply.body["access_token"]
        return token


Start = Callable[..., Awaitable[RunningIdentity]]


def identity_settings(database_url: str, credentials: Path, **overrides: Any) -> IdentitySettings:
    values: dict[str, Any] = {
        "database_url": database_url, "log_level": "warning", "nats_url": "", "registry_url": "",
        "bootstrap_admin_email": ADMIN_EMAIL, "bootstrap_admin_password": ADMIN_PASSWORD,
        "service_credentials_file": str(credentials), "login_max_failures_per_client": 50,
        "signing_key_secret": "identity tests' signing key secret"}
    return IdentitySettings(**{**values, **overrides})


@pytest.fixture
def credentials(tmp_path: Path) -> Path:
    path = tmp_path / "service-credentials.json"
    path.write_text(json.dumps({name: hashlib.sha256(secret.encode()).hexdigest()
                                for name, secret in SERVICE_SECRETS.items()}))
    return path


@pytest.fixture
async def start_identity(database_url: str, credentials: Path,
                         issuer: TestIssuer) -> AsyncIterator[Start]:
    """``await start_identity(login_max_failures=3)`` — a run of identity on the same database
    (a second one is a restart, or another instance); all are stopped afterwards."""
    async with AsyncExitStack() as stack:
        async def start(**overrides: Any) -> RunningIdentity:
            app = create_app(identity_settings(database_url, credentials, **overrides))
            running = await stack.enter_async_context(start_service(app, issuer))
            identity = RunningIdentity(running.app, running.url, running.http, running.issuer)
            identity.database_url = database_url
            return identity

        yield start


@pytest.fixture
async def identity(start_identity: Start) -> RunningIdentity:
    return await start_identity()
