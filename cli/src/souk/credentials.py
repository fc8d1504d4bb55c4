"""Credentials souk generates on first ``up``: a secret per service, and two demo users.

* ``<home>/secrets/services.json`` — ``{"<service>": "<secret>"}``; each instance gets its own
  as ``<SERVICE>_SERVICE_SECRET`` and trades it with identity for a service token.
* ``<home>/secrets/service-credentials.json`` — the SHA-256 of each secret, for identity
  (``IDENTITY_SERVICE_CREDENTIALS_FILE``): identity never holds the secrets themselves.
* ``<home>/secrets/demo-users.json`` — a demo admin (identity creates it at start from
  ``IDENTITY_BOOTSTRAP_ADMIN_*``) and a demo customer (``souk up`` signs it up once ready).
* ``<home>/secrets/deployment.json`` — secrets of the deployment as a whole: the key identity
  encrypts its private signing keys with (``IDENTITY_SIGNING_KEY_SECRET``).

Every file is written owner-only (0600) in an owner-only folder. Existing secrets are kept, so a
restart changes nothing; a service added to the topology later gets a secret on the next ``up``.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import orjson

from souk.home import Home
from souk.state import read_json

__all__ = ["DEMO_ADMIN_EMAIL", "DEMO_CUSTOMER_EMAIL", "DemoUser", "DemoUsers", "ensure_demo_users",
           "ensure_service_secrets", "ensure_signing_key_secret", "mark_customer_signed_up",
           "read_demo_users", "write_private_json"]

DEMO_ADMIN_EMAIL = "admin@souk.local"
DEMO_CUSTOMER_EMAIL = "customer@souk.local"


def write_private_json(path: Path, data: object) -> None:
    """Write JSON readable by the owner only, atomically (readers see old or new, never half)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as file:
        file.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    os.chmod(tmp, 0o600)  # O_CREAT's mode is masked by the umask; this is not
    os.replace(tmp, path)


def _string_map(data: object) -> dict[str, str]:
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if isinstance(k, str) and isinstance(v, str) and v}


def ensure_service_secrets(home: Home, services: Iterable[str]) -> dict[str, str]:
    """Each service's secret, generating those missing; rewrites identity's hash file to match."""
    known = _string_map(read_json(home.service_secrets_file))
    wanted = dict(known)
    for service in services:
        wanted.setdefault(service, secrets.token_urlsafe(32))
    if wanted != known or not home.service_secrets_file.exists():
        write_private_json(home.service_secrets_file, wanted)
    hashes = {name: hashlib.sha256(secret.encode()).hexdigest() for name, secret in wanted.items()}
    if read_json(home.service_credentials_file) != hashes:
        write_private_json(home.service_credentials_file, hashes)
    return wanted


def ensure_signing_key_secret(home: Home) -> str:
    """The deployment's signing-key secret, generated once (losing it loses identity's keys:
    the next start refuses to sign with keys it cannot decrypt)."""
    known = _string_map(read_json(home.deployment_secrets_file))
    if "signing_key_secret" not in known:
        known["signing_key_secret"] = secrets.token_urlsafe(32)
        write_private_json(home.deployment_secrets_file, known)
    return known["signing_key_secret"]


@dataclass(frozen=True)
class DemoUser:
    email: str
    password: str


@dataclass(frozen=True)
class DemoUsers:
    admin: DemoUser
    customer: DemoUser
    customer_signed_up: bool = False


def _user(data: object) -> DemoUser | None:
    fields = _string_map(data)
    if "email" in fields and "password" in fields:
        return DemoUser(fields["email"], fields["password"])
    return None


def read_demo_users(home: Home) -> DemoUsers | None:
    data = read_json(home.demo_users_file)
    if not isinstance(data, dict):
        return None
    admin, customer = _user(data.get("admin")), _user(data.get("customer"))
    if admin is None or customer is None:
        return None
    return DemoUsers(admin, customer, data.get("customer_signed_up") is True)


def _write_demo_users(home: Home, users: DemoUsers) -> None:
    write_private_json(home.demo_users_file, {
        "admin": {"email": users.admin.email, "password": users.admin.password},
        "customer": {"email": users.customer.email, "password": users.customer.password},
        "customer_signed_up": users.customer_signed_up})


def ensure_demo_users(home: Home) -> tuple[DemoUsers, bool]:
    """The demo users, and whether this call created them (then they are shown once)."""
    existing = read_demo_users(home)
    if existing is not None:
        return existing, False
    # 16 URL-safe characters, 96 random bits: far from any common-password list
    users = DemoUsers(DemoUser(DEMO_ADMIN_EMAIL, secrets.token_urlsafe(12)),
                      DemoUser(DEMO_CUSTOMER_EMAIL, secrets.token_urlsafe(12)))
    _write_demo_users(home, users)
    return users, True


def mark_customer_signed_up(home: Home, users: DemoUsers) -> DemoUsers:
    done = DemoUsers(users.admin, users.customer, customer_signed_up=True)
    _write_demo_users(home, done)
    return done
