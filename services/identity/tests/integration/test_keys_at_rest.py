"""Identity's private signing keys at rest (issue 10, item 7): encrypted in its database with
the per-deployment secret, a key from before that is encrypted at the next start."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from chassis.testing import TestIssuer
from chassis.testing.service import start_service
from identity.app import create_app

from .conftest import identity_settings

pytestmark = pytest.mark.integration

ENCRYPTED = "-----BEGIN ENCRYPTED PRIVATE KEY-----"


def stored_pems(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [row[0] for row in conn.execute("SELECT private_pem FROM signing_keys")]


async def test_private_keys_are_encrypted_in_the_database(tmp_path: Path, credentials: Path,
                                                         issuer: TestIssuer) -> None:
    db = tmp_path / "identity.db"
    settings = identity_settings(f"sqlite:///{db}", credentials)
    async with start_service(create_app(settings), issuer) as identity:
        signed_up = await identity.call("POST", "/v1/signup",
                                      {"email": "ada@example.com", "password": "a long passphrase"},
                                      user=None)
        assert signed_up.status == 201
    pems = stored_pems(db)
    assert pems and all(pem.startswith(ENCRYPTED) for pem in pems)
    # a key stored in the clear (before keys were encrypted) is encrypted at the next start
    [pem] = pems
    clear = serialization.load_pem_private_key(
        pem.encode(), password=settings.signing_key_secret.encode()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()).decode()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE signing_keys SET private_pem = ?", (clear,))
    assert stored_pems(db) == [clear]
    async with start_service(create_app(settings), issuer) as identity:
        login = await identity.call("POST", "/v1/login", {"email": "ada@example.com",
                                                          "password": "a long passphrase"},
                                    user=None)
        assert login.status == 200
    assert all(pem.startswith(ENCRYPTED) for pem in stored_pems(db))
