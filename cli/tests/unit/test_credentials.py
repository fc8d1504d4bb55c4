import hashlib
import json
import stat
from pathlib import Path

import pytest

from souk.credentials import (
    DEMO_ADMIN_EMAIL,
    DEMO_CUSTOMER_EMAIL,
    ensure_demo_users,
    ensure_service_secrets,
    mark_customer_signed_up,
    read_demo_users,
)
from souk.home import Home

pytestmark = pytest.mark.unit


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_generates_one_secret_per_service_readable_by_the_owner_only(tmp_path: Path) -> None:
    home = Home(tmp_path)

    secrets = ensure_service_secrets(home, ["registry", "identity", "catalog"])

    assert set(secrets) == {"registry", "identity", "catalog"}
    assert len(set(secrets.values())) == 3 and all(len(s) >= 43 for s in secrets.values())
    assert json.loads(home.service_secrets_file.read_text()) == secrets
    assert mode(home.service_secrets_file) == 0o600 and mode(home.secrets) == 0o700


def test_identity_gets_only_the_sha256_of_each_secret(tmp_path: Path) -> None:
    home = Home(tmp_path)

    secrets = ensure_service_secrets(home, ["catalog", "orders"])

    hashes = json.loads(home.service_credentials_file.read_text())
    assert hashes == {name: hashlib.sha256(s.encode()).hexdigest() for name, s in secrets.items()}
    assert mode(home.service_credentials_file) == 0o600


def test_keeps_existing_secrets_and_adds_one_for_a_new_service(tmp_path: Path) -> None:
    home = Home(tmp_path)
    first = ensure_service_secrets(home, ["catalog"])

    again = ensure_service_secrets(home, ["catalog"])
    grown = ensure_service_secrets(home, ["catalog", "cart"])

    assert again == first
    assert grown["catalog"] == first["catalog"] and "cart" in grown
    assert set(json.loads(home.service_credentials_file.read_text())) == {"catalog", "cart"}


def test_demo_users_are_made_once_with_random_passwords(tmp_path: Path) -> None:
    home = Home(tmp_path)

    users, created = ensure_demo_users(home)
    again, created_again = ensure_demo_users(home)

    assert created and not created_again and again == users
    assert (users.admin.email, users.customer.email) == (DEMO_ADMIN_EMAIL, DEMO_CUSTOMER_EMAIL)
    assert users.admin.password != users.customer.password
    assert len(users.admin.password) >= 16 and not users.customer_signed_up
    assert mode(home.demo_users_file) == 0o600


def test_remembers_that_the_demo_customer_signed_up(tmp_path: Path) -> None:
    home = Home(tmp_path)
    users, _ = ensure_demo_users(home)

    mark_customer_signed_up(home, users)

    stored = read_demo_users(home)
    assert stored is not None and stored.customer_signed_up
    assert stored.admin == users.admin and stored.customer == users.customer


def test_an_unreadable_demo_users_file_is_none(tmp_path: Path) -> None:
    home = Home(tmp_path)
    home.secrets.mkdir()
    home.demo_users_file.write_text('{"admin": {"email": "x"}}')

    assert read_demo_users(home) is None


@pytest.mark.parametrize(("created", "note"), [(False, False), (True, True)])
def test_every_up_asks_identity_for_the_demo_customer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        created: bool, note: bool) -> None:
    """Identity's database may be newer than the home's file (down --purge, up --postgres after
    SQLite): the customer is signed up at every up, a 409 (there already) says nothing more."""
    from souk import identity_client, main

    home = Home(tmp_path)
    users = mark_customer_signed_up(home, ensure_demo_users(home)[0])
    asked: list[str] = []
    monkeypatch.setattr(identity_client, "identity_url", lambda state: "http://identity")
    monkeypatch.setattr(identity_client, "sign_up",
                        lambda url, user: asked.append(user.email) or created)

    main._welcome_demo_users({}, home, users)  # type: ignore[arg-type]

    shown = capsys.readouterr().out
    assert asked == [DEMO_CUSTOMER_EMAIL]
    assert ("signed up again" in shown) is note
    assert users.customer.password not in shown  # shown on the first up only
