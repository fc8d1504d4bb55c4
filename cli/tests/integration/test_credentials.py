"""souk up's credentials on stand-in services: a secret per service, the demo users shown once,
and souk keys rotate against the stand-in identity."""

from __future__ import annotations

import hashlib
import json
import os
import stat

import pytest

from .conftest import Factory, Souk

pytestmark = pytest.mark.integration


def first_log_line(souk: Souk, instance: str) -> dict[str, object]:
    line: dict[str, object] = json.loads(
        (souk.home / "logs" / f"{instance}.log").read_text().splitlines()[0])
    return line


def demo_users(souk: Souk) -> dict[str, dict[str, str]]:
    data: dict[str, dict[str, str]] = json.loads(
        (souk.home / "secrets" / "demo-users.json").read_text())
    return data


def test_up_gives_each_service_a_secret_and_identity_their_hashes(souk_factory: Factory) -> None:
    souk = souk_factory(workers=1, identity=True, gateway=False)

    result = souk.up()

    assert result.returncode == 0, result.stdout + result.stderr
    secrets_dir = souk.home / "secrets"
    secrets = json.loads((secrets_dir / "services.json").read_text())
    assert set(secrets) == {"registry", "identity", "worker"}
    for name in ("services.json", "service-credentials.json", "demo-users.json"):
        assert stat.S_IMODE((secrets_dir / name).stat().st_mode) == 0o600
    hashes = json.loads((secrets_dir / "service-credentials.json").read_text())
    worker, identity = first_log_line(souk, "worker-1"), first_log_line(souk, "identity-1")
    assert worker["service_secret_sha256"] == hashes["worker"]
    assert worker["service_secret_sha256"] == hashlib.sha256(secrets["worker"].encode()).hexdigest()
    assert identity["credentials_file"] == str(secrets_dir / "service-credentials.json")
    assert identity["bootstrap_admin"] == "admin@souk.local"
    assert worker["bootstrap_admin"] is None
    assert secrets["worker"] not in (souk.home / "logs" / "supervisor.log").read_text()


def test_data_and_secrets_are_readable_by_their_owner_only(souk_factory: Factory) -> None:
    """Issue 10, item 7: under the usual umask 022 too."""
    souk = souk_factory(workers=1, identity=True, gateway=False)
    old = os.umask(0o022)
    try:
        assert souk.up().returncode == 0
    finally:
        os.umask(old)
    for folder in (souk.home, *(souk.home / name for name in (
            "data", "nats", "logs", "run", "faults", "secrets"))):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    written = [path for path in souk.home.rglob("*") if path.is_file()]
    assert any(path.parent.name == "logs" for path in written)
    readable_by_others = {path: stat.S_IMODE(path.stat().st_mode) & 0o077 for path in written}
    assert readable_by_others == dict.fromkeys(written, 0)
    deployment = json.loads((souk.home / "secrets" / "deployment.json").read_text())
    assert len(deployment["signing_key_secret"]) >= 32


def test_identity_starts_after_the_registry_and_before_the_other_services(
        souk_factory: Factory) -> None:
    souk = souk_factory(workers=1, identity=True)
    assert souk.up().returncode == 0

    started = {p["instance"]: p["started_at"] for p in souk.state()["processes"]}

    assert started["registry-1"] < started["identity-1"] < started["worker-1"] < started["gateway-1"]


def test_demo_users_are_signed_up_and_shown_once_then_only_their_file(
        souk_factory: Factory) -> None:
    souk = souk_factory(workers=1, identity=True, gateway=False)

    first = souk.up()

    users = demo_users(souk)
    assert first.returncode == 0, first.stderr
    assert users["customer_signed_up"] is True
    assert "Demo users" in first.stdout
    for role in ("admin", "customer"):
        assert users[role]["email"] in first.stdout and users[role]["password"] in first.stdout
    signed_up = (souk.home / "logs" / "identity-1.log").read_text()
    assert '"email": "customer@souk.local"' in signed_up

    assert souk.run("down").returncode == 0
    second = souk.up()

    assert second.returncode == 0, second.stderr
    assert users["admin"]["password"] not in second.stdout
    assert users["customer"]["password"] not in second.stdout
    assert str(souk.home / "secrets" / "demo-users.json") in second.stdout
    assert demo_users(souk) == users
    # the stand-in identity forgets its accounts when it stops, as a purged database does: the
    # customer is signed up again (before, it could no longer log in), and the file is unchanged
    assert "signed up again" in second.stdout
    signed_up = (souk.home / "logs" / "identity-1.log").read_text()
    assert signed_up.count('"email": "customer@souk.local"') == 2


def test_keys_rotate_logs_in_as_the_demo_admin_and_prints_the_new_kid(
        souk_factory: Factory) -> None:
    souk = souk_factory(workers=1, identity=True, gateway=False)
    assert souk.up().returncode == 0

    first, second = souk.run("keys", "rotate"), souk.run("keys", "rotate")

    assert first.returncode == 0, first.stderr
    assert "kid-1" in first.stdout and "kid-2" in second.stdout


def test_keys_rotate_needs_a_running_platform(souk_factory: Factory) -> None:
    souk = souk_factory(workers=1)

    result = souk.run("keys", "rotate")

    assert result.returncode == 2 and "not running" in result.stderr
