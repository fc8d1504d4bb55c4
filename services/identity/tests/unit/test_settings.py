"""Identity's settings (settings.py): OWASP and the token contract by default, IDENTITY_* read."""

from __future__ import annotations

import os

import pytest

from chassis.settings import SettingsError
from identity.settings import IdentitySettings

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("IDENTITY_"):
            monkeypatch.delenv(name)


def test_defaults_follow_the_token_contract_and_owasp() -> None:
    settings = IdentitySettings.load()
    assert settings.service_name == "identity"
    assert (settings.jwt_issuer, settings.jwt_audience) == ("souk-identity", "souk")
    assert settings.access_token_ttl_seconds == 900
    assert settings.service_token_ttl_seconds == 300
    assert (settings.login_max_failures, settings.login_window_seconds,
            settings.login_lockout_seconds) == (5, 300, 60)
    assert (settings.password_memory_kib, settings.password_time_cost,
            settings.password_parallelism, settings.password_hash_workers) == (19456, 2, 1, 2)


def test_reads_its_own_prefixed_environment_and_hides_the_admin_password(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("IDENTITY_BOOTSTRAP_ADMIN_EMAIL", "admin@souk.local")
    monkeypatch.setenv("IDENTITY_BOOTSTRAP_ADMIN_PASSWORD", "very-secret-value")
    monkeypatch.setenv("IDENTITY_LOGIN_MAX_FAILURES", "3")
    settings = IdentitySettings.load()
    assert settings.bootstrap_admin_email == "admin@souk.local"
    assert settings.login_max_failures == 3
    assert "very-secret-value" not in repr(settings)


def test_refuses_half_a_bootstrap_admin() -> None:
    with pytest.raises(SettingsError):
        IdentitySettings.load(bootstrap_admin_email="admin@souk.local")
